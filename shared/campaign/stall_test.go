package campaign_test

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

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// standIn is an SES stand-in counting accepted sends per recipient. The first call
// for hold is held until release is closed, whatever its context says (the sending
// process is frozen: neither its client timeout nor anything else runs), and then
// answered with answer (nil: accepted).
type standIn struct {
	hold    string
	holding chan struct{}
	release chan struct{}
	answer  error
	once    sync.Once
	copies  *copies
}

type copies struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *copies) of(to string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[to] }

func (s *standIn) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	to := in.Destination.ToAddresses[0]
	held := false
	if to == s.hold {
		s.once.Do(func() { held = true })
	}
	if held {
		close(s.holding)
		<-s.release
		if s.answer != nil {
			return nil, s.answer
		}
	} else if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.copies.mu.Lock()
	s.copies.n[to]++
	n := s.copies.n[to]
	s.copies.mu.Unlock()
	return &sesv2.SendEmailOutput{MessageId: aws.String(fmt.Sprintf("%s-%d", to, n))}, nil
}

func (s *standIn) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return &sesv2.GetAccountOutput{SendingEnabled: true, SendQuota: &types.SendQuota{MaxSendRate: 1000, Max24HourSend: 1e6}}, nil
}

// frozenLedger is the store as seen by a frozen process: its claim renewals do not
// get out while frozen (they go out, late, when it thaws).
type frozenLedger struct {
	*dynamo.Store
	thaw chan struct{}
}

func (l *frozenLedger) RenewClaim(ctx context.Context, c, id, claim string, now time.Time, lease time.Duration) error {
	<-l.thaw
	return l.Store.RenewClaim(ctx, c, id, claim, time.Now(), lease)
}

func stallJob(a *apptest.App) campaign.Job {
	return campaign.Job{
		MeetingID: "stall", Kind: "invitation", From: a.Config.From,
		Page: func(ctx context.Context, after string) (campaign.Batch, error) {
			ms, next, err := a.Store.MembersPage(ctx, after, campaign.BatchSize)
			return campaign.Batch{Members: ms, Next: next}, err
		},
		Render: func(context.Context, group.Member) ([]byte, error) {
			return []byte("Subject: stall\r\n\r\nhello"), nil
		},
	}
}

// A sender frozen mid-call past its lease loses the entry to another run; when it
// thaws and gets its answer it must not touch the other run's entry (neither mark
// it nor release it), and it reports the possible duplicate.
func TestStalledSenderClobbersNothing(t *testing.T) {
	const lease = time.Second
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name       string
		answer     error // the frozen sender's answer when it thaws
		takerHolds bool  // the run that took over is still sending when it thaws
	}{
		{"answer accepted after the other run sent", nil, false},
		{"SES paused while the other run still holds the claim", &types.SendingPausedException{Message: aws.String("Sending is paused for this account.")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
			a.AddManyMembers(t, 12)
			held := a.Email("m0005")
			memberID := group.MemberID(held)
			job := stallJob(a)
			count := &copies{n: map[string]int{}}
			frozen := &standIn{hold: held, holding: make(chan struct{}), release: make(chan struct{}), answer: tc.answer, copies: count}
			fl := &frozenLedger{Store: a.Store, thaw: make(chan struct{})}
			stalled := &campaign.Engine{Ledger: fl, SES: frozen, Log: quiet, Lease: lease, Workers: 4}
			type outcome struct {
				res campaign.Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := stalled.Run(ctx, job)
				done <- outcome{res, err}
			}()
			<-frozen.holding
			time.Sleep(lease + 300*time.Millisecond) // the frozen sender's lease runs out

			taker := &standIn{holding: make(chan struct{}), release: make(chan struct{}), copies: count}
			if tc.takerHolds {
				taker.hold = held
			}
			other := &campaign.Engine{Ledger: a.Store, SES: taker, Log: quiet, Lease: time.Minute, Workers: 4}
			otherDone := make(chan outcome, 1)
			go func() {
				res, err := other.Run(ctx, job)
				otherDone <- outcome{res, err}
			}()
			if tc.takerHolds {
				<-taker.holding
			} else if o := <-otherDone; o.err != nil || o.res.Sent != 1 {
				t.Fatalf("the run that took over should have sent exactly the stalled member: %+v %v", o.res, o.err)
			}
			before, err := a.Store.SendRecords(ctx, job.ID(), []string{memberID})
			if err != nil {
				t.Fatal(err)
			}
			taken := before[memberID]

			close(fl.thaw)
			close(frozen.release)
			o := <-done
			after, err := a.Store.SendRecords(ctx, job.ID(), []string{memberID})
			if err != nil {
				t.Fatal(err)
			}
			if got := after[memberID]; got.ClaimID != taken.ClaimID || got.State != taken.State || got.MessageID != taken.MessageID {
				t.Fatalf("the stalled sender changed the other run's entry: before %+v, after %+v", taken, got)
			}
			if tc.takerHolds {
				close(taker.release)
				if o := <-otherDone; o.err != nil || o.res.Sent != 1 {
					t.Fatalf("the run that took over should have sent exactly the stalled member: %+v %v", o.res, o.err)
				}
			}
			// The bound: one extra copy per claim taken over from a live sender, and the
			// stalled run reports each.
			wantCopies, wantDup := 1, 0
			if tc.answer == nil {
				wantCopies, wantDup = 2, 1
			}
			if n := count.of(held); n != wantCopies || o.res.PossibleDuplicates != wantDup {
				t.Fatalf("stalled member got %d copies (want %d); the stalled run reported %d possible duplicates (want %d): %+v %v",
					n, wantCopies, o.res.PossibleDuplicates, wantDup, o.res, o.err)
			}
			final, _ := a.Store.SendRecords(ctx, job.ID(), []string{memberID})
			if final[memberID].State != dynamo.SendSent {
				t.Fatalf("the stalled member is not marked sent: %+v", final[memberID])
			}
			for i := range 12 {
				if to := a.Email(fmt.Sprintf("m%04d", i)); to != held && count.of(to) != 1 {
					t.Errorf("%s got %d copies", to, count.of(to))
				}
			}
		})
	}
}
