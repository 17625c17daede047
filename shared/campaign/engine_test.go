package campaign

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// memLedger is an in-memory Ledger with the same claim rules as the store.
type memLedger struct {
	mu      sync.Mutex
	records map[string]dynamo.SendRecord
	cursor  string
}

func (l *memLedger) SendRecords(_ context.Context, c string, ids []string) (map[string]dynamo.SendRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]dynamo.SendRecord{}
	for _, id := range ids {
		if r, ok := l.records[c+"/"+id]; ok {
			out[id] = r
		}
	}
	return out, nil
}

func (l *memLedger) ClaimSend(_ context.Context, c, id, claim string, now time.Time, lease time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.records[c+"/"+id]
	if ok && !(r.State == dynamo.SendClaimed && r.ClaimUntil < now.UnixMilli()) {
		return dynamo.ErrClaimed
	}
	l.records[c+"/"+id] = dynamo.SendRecord{MemberID: id, State: dynamo.SendClaimed, ClaimUntil: now.Add(lease).UnixMilli(), ClaimID: claim}
	return nil
}

func (l *memLedger) RenewClaim(_ context.Context, c, id, claim string, now time.Time, lease time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.records[c+"/"+id]
	if !ok || r.State != dynamo.SendClaimed || r.ClaimID != claim {
		return dynamo.ErrLostClaim
	}
	r.ClaimUntil = now.Add(lease).UnixMilli()
	l.records[c+"/"+id] = r
	return nil
}

func (l *memLedger) set(c, id, claim, state, msg string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.records[c+"/"+id]; ok && (r.ClaimID != claim || (r.State != dynamo.SendClaimed && r.State != state)) {
		return dynamo.ErrLostClaim
	}
	l.records[c+"/"+id] = dynamo.SendRecord{MemberID: id, State: state, MessageID: msg, ClaimID: claim}
	return nil
}

func (l *memLedger) MarkSent(_ context.Context, c, id, claim, msg string, _ time.Time) error {
	return l.set(c, id, claim, dynamo.SendSent, msg)
}

func (l *memLedger) MarkFailed(_ context.Context, c, id, claim, reason string, _ time.Time) error {
	return l.set(c, id, claim, dynamo.SendFailed, reason)
}

func (l *memLedger) ReleaseClaim(_ context.Context, c, id, claim string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.records[c+"/"+id]; !ok || r.State != dynamo.SendClaimed || r.ClaimID != claim {
		return dynamo.ErrLostClaim
	}
	delete(l.records, c+"/"+id)
	return nil
}

func (l *memLedger) SaveCursor(_ context.Context, _, _, cursor, _ string) error {
	l.mu.Lock()
	l.cursor = cursor
	l.mu.Unlock()
	return nil
}

// fakeSES answers SendEmail with SendEmailFn and GetAccount with Account.
type fakeSES struct {
	Account     *sesv2.GetAccountOutput
	SendEmailFn func(to string) error
	mu          sync.Mutex
	sent        map[string]int
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	to := in.Destination.ToAddresses[0]
	if f.SendEmailFn != nil {
		if err := f.SendEmailFn(to); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.sent[to]++
	f.mu.Unlock()
	return &sesv2.SendEmailOutput{MessageId: aws.String("id-" + to)}, nil
}

func (f *fakeSES) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return f.Account, nil
}

func account(enabled bool) *sesv2.GetAccountOutput {
	return &sesv2.GetAccountOutput{SendingEnabled: enabled, SendQuota: &types.SendQuota{MaxSendRate: 10000, Max24HourSend: 1e6}}
}

func job(n int) Job {
	members := make([]group.Member, n)
	for i := range members {
		members[i] = group.Member{ID: fmt.Sprintf("m%03d", i), Email: fmt.Sprintf("m%03d@x.example", i), Status: group.MemberActive}
	}
	return Job{
		MeetingID: "m1", Kind: "invitation", From: "a@x.example",
		Page: func(_ context.Context, after string) (Batch, error) {
			start := 0
			fmt.Sscanf(after, "%d", &start)
			end := min(start+BatchSize, n)
			b := Batch{Members: members[start:end]}
			if end < n {
				b.Next = fmt.Sprint(end)
			}
			return b, nil
		},
		Render: func(context.Context, group.Member) ([]byte, error) { return []byte("Subject: hi\r\n\r\nhi"), nil },
	}
}

func engine(l *memLedger, s *fakeSES) *Engine {
	return &Engine{Ledger: l, SES: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestRejectedAddressIsRecordedAndTheCampaignGoesOn(t *testing.T) {
	l := &memLedger{records: map[string]dynamo.SendRecord{}}
	s := &fakeSES{Account: account(true), sent: map[string]int{}, SendEmailFn: func(to string) error {
		if to == "m007@x.example" {
			return &types.MessageRejected{Message: aws.String("Illegal address")}
		}
		return nil
	}}
	res, err := engine(l, s).Run(context.Background(), job(250))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 249 || res.Failed != 1 || !res.Finished {
		t.Fatalf("result %+v, want 249 sent, 1 failed, finished", res)
	}
	if r := l.records["m1#invitation/m007"]; r.State != dynamo.SendFailed {
		t.Fatalf("the rejected member's ledger entry is %+v", r)
	}
	// A rerun neither retries the rejected address nor re-sends anyone.
	res, _ = engine(l, s).Run(context.Background(), job(250))
	if res.Sent != 0 || res.Done != 250 {
		t.Fatalf("rerun: %+v", res)
	}
}

func TestPausedAccountStopsAndResumes(t *testing.T) {
	l := &memLedger{records: map[string]dynamo.SendRecord{}}
	s := &fakeSES{Account: account(false), sent: map[string]int{}}
	res, err := engine(l, s).Run(context.Background(), job(50))
	if err == nil || res.Sent != 0 || len(s.sent) != 0 {
		t.Fatalf("a paused account must stop the campaign before any send: %+v %v", res, err)
	}
	s.Account = account(true)
	if res, err = engine(l, s).Run(context.Background(), job(50)); err != nil || res.Sent != 50 {
		t.Fatalf("resume: %+v %v", res, err)
	}
}

func TestPausedMidCampaignReleasesTheClaim(t *testing.T) {
	l := &memLedger{records: map[string]dynamo.SendRecord{}}
	var calls sync.Mutex
	n := 0
	s := &fakeSES{Account: account(true), sent: map[string]int{}, SendEmailFn: func(string) error {
		calls.Lock()
		defer calls.Unlock()
		if n++; n > 20 {
			return &types.SendingPausedException{Message: aws.String("paused")}
		}
		return nil
	}}
	e := engine(l, s)
	e.Workers = 1
	if _, err := e.Run(context.Background(), job(100)); err == nil {
		t.Fatal("want the campaign to stop with an error")
	}
	for k, r := range l.records {
		if r.State == dynamo.SendClaimed {
			t.Fatalf("claim %s left behind: the next run would wait for it to expire", k)
		}
	}
	s.SendEmailFn = nil
	res, err := engine(l, s).Run(context.Background(), job(100))
	if err != nil || res.Sent+20 != 100 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	for to, c := range s.sent {
		if c != 1 {
			t.Fatalf("%s got %d copies", to, c)
		}
	}
}
