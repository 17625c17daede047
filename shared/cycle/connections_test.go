package cycle_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/faultproxy"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
	"github.com/afterparty/afterparty/shared/group"
)

// countingSES is the local stack's strict SES layer in front of a sink that accepts
// and counts every email by recipient (infra/faultproxy): the SES emulator keeps
// every email in memory, which 30,000 introductions would swamp.
func countingSES(t *testing.T) (*sesv2.Client, *faultproxy.Proxy) {
	t.Helper()
	stack := localstack.Get(t)
	sink, err := faultproxy.Start(faultproxy.SES, stack.SESURL, faultproxy.Options{Sink: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	layer, err := strict.NewSES(sink.URL, strict.SESOptions{Identities: localstack.LocalIdentities, ConfigurationSets: localstack.LocalConfigurationSets})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(layer)
	t.Cleanup(srv.Close)
	return sesv2.NewFromConfig(stack.AWSConfig(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) }), sink
}

// parallel runs f(i) for i in [0,n) on 16 workers.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	work := make(chan int)
	errs := make(chan error, n)
	for range 16 {
		go func() {
			for i := range work {
				errs <- f(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// 1,000 attendees, each ticking 30 others (the 15 before and the 15 after them in a
// ring, so every tick is returned): 15,000 introductions, 30,000 emails. The sweep
// finishes and sends each once; a second sweep sends nothing.
func TestIntroductionsSweepAtScale(t *testing.T) {
	const n, each = 1000, group.MaxTicks
	a := apptest.New(t, nil)
	client, sink := countingSES(t)
	a.Runner.SES = client
	a.AddManyMembers(t, n)
	m := a.PutMeeting(t, meetingFields("sweep"))
	id := func(i int) string { return group.MemberID(a.Email(fmt.Sprintf("m%04d", (i+n)%n))) }
	began := time.Now()
	parallel(t, n, func(i int) error {
		if _, err := a.Store.SetRSVP(ctx, m.ID, id(i), group.Yes, m.Start.Add(-time.Hour)); err != nil {
			return err
		}
		return a.Store.SetListing(ctx, id(i), true, "", m.End)
	})
	parallel(t, n, func(i int) error {
		for d := 1; d <= each/2; d++ {
			for _, o := range []int{i + d, i - d} {
				if err := a.Store.Tick(ctx, m.ID, id(i), id(o), m.End); err != nil {
					return err
				}
			}
			// The page records a pair once the second tick is in; here the later of
			// the pair records it.
			if _, err := a.Store.RecordIntroduction(ctx, m.ID, group.PairOf(id(i), id(i+d)), m.End); err != nil {
				return err
			}
		}
		return nil
	})
	setup := time.Since(began)

	at := m.End.Add(18 * time.Hour)
	began = time.Now()
	rep, err := a.Runner.Introduce(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	sweep := time.Since(began)
	if len(rep.Meetings) != 1 || !rep.Meetings[0].Result.Finished || rep.Meetings[0].Result.Sent != n*each {
		t.Fatalf("sweep: %+v, want %d sent and finished", rep.Meetings, n*each)
	}
	for i := range n {
		addr := a.Email(fmt.Sprintf("m%04d", i))
		if got := sink.Stats().Sends[addr]; got != each {
			t.Fatalf("%s got %d introductions, want %d", addr, got, each)
		}
	}
	began = time.Now()
	rep, err = a.Runner.Introduce(ctx, at.Add(15*time.Minute))
	if err != nil || rep.Meetings[0].Result.Sent != 0 || rep.Meetings[0].Result.Done != n*each {
		t.Fatalf("second sweep: %+v %v, want nothing sent, %d already done", rep.Meetings, err, n*each)
	}
	t.Logf("%d attendees x %d ticks: setup %v, sweep of %d introductions %v, second sweep %v",
		n, each, setup.Round(time.Millisecond), n*each, sweep.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
