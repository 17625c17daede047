package setup

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/links"
)

// fakeSecrets is Secrets Manager holding one secret's AWSCURRENT and AWSPREVIOUS.
type fakeSecrets struct {
	mu        sync.Mutex
	cur, prev secretVersion
	reads     int
}

type secretVersion struct {
	id, value string
	created   time.Time
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	v := f.cur
	if aws.ToString(in.VersionStage) == "AWSPREVIOUS" {
		v = f.prev
	}
	if v.id == "" {
		return nil, errors.New("ResourceNotFoundException: no such version")
	}
	return &secretsmanager.GetSecretValueOutput{VersionId: aws.String(v.id), SecretString: aws.String(v.value), CreatedDate: aws.Time(v.created)}, nil
}

// rotate puts a new value as AWSCURRENT, as `put-secret-value` does.
func (f *fakeSecrets) rotate(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prev, f.cur = f.cur, secretVersion{id: id, value: id + "-secret-value-secret-value", created: at}
}

// TestWarmFunctionSignsWithTheRotatedKey: a scheduled function started before two
// rotations signs its next run's links with the newest key (which a freshly started
// web function accepts), reading the secret again at most once a minute; its
// member pages verify them too.
func TestWarmFunctionSignsWithTheRotatedKey(t *testing.T) {
	start := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	sm := &fakeSecrets{cur: secretVersion{id: "aaaaaaaa-1", value: "first-secret-first-secret", created: start.Add(-time.Hour)}}
	vars := map[string]string{"AFTERPARTY_LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:links"}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	warm, err := fromConfig(context.Background(), cfg, aws.Config{Region: "us-east-1"}, config.Endpoints{}, nil, sm, clock)
	if err != nil {
		t.Fatal(err)
	}
	if warm.Runner.ReloadKeys == nil {
		t.Fatal("the runner cannot reload the link-signing keys")
	}
	link := func() string {
		u, err := url.Parse(warm.Runner.Links.URL("/rsvp", links.Claims{Member: "m1", Meeting: "2031-03-13", Action: links.ActionRSVP, Expires: start.AddDate(0, 1, 0)}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("t")
	}
	coldWeb := func() *links.Signer { // what a web function started now holds
		s, err := signerFrom(context.Background(), sm, cfg.LinkSecretARN)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, id := range []string{"bbbbbbbb-2", "cccccccc-3"} {
		now = now.Add(time.Hour)
		sm.rotate(id, now)
		now = now.Add(time.Minute)
		if err := warm.Runner.ReloadKeys(context.Background()); err != nil { // the start of the next run
			t.Fatal(err)
		}
		token := link()
		if c, err := coldWeb().Verify(token, now); err != nil || c.KeyID != id[:8] {
			t.Fatalf("after rotation %d: the warm function signs with key %q, want %q (a fresh web function: %v)", i+1, c.KeyID, id[:8], err)
		}
		if _, err := warm.Site.Signer.Verify(token, now); err != nil {
			t.Fatalf("after rotation %d: the warm function's own pages refuse its link: %v", i+1, err)
		}
	}
	reads := sm.reads
	for range 5 { // runs in quick succession read the secret once a minute at most
		if err := warm.Runner.ReloadKeys(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if sm.reads != reads {
		t.Fatalf("%d reads of the secret within a minute", sm.reads-reads)
	}
}

// TestReloadFailureKeepsTheKeys: a secret that cannot be read keeps the keys the
// function has, and says what failed.
func TestReloadFailureKeepsTheKeys(t *testing.T) {
	now := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	sm := &fakeSecrets{cur: secretVersion{id: "aaaaaaaa-1", value: "first-secret-first-secret", created: now}}
	k, err := newLinkKeys(context.Background(), sm, "arn", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	sm.cur = secretVersion{}
	now = now.Add(2 * time.Minute)
	s, err := k.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "read link-signing secret") {
		t.Fatalf("Reload = %v, want an error naming the secret", err)
	}
	if got := s.KeyID(); got != "aaaaaaaa" {
		t.Fatalf("signing with %q after a failed reload, want the keys it had", got)
	}
}
