// Package campaign sends one message to every recipient of a meeting exactly once in
// practice: recipients come in keyset-paginated batches, each send is claimed in the
// ledger with a conditional write before the SES call and marked after it, progress
// is checkpointed only after confirmed sends, sending is paced to SES's own quota,
// and a run stops before its deadline so the next run resumes where it stopped.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"golang.org/x/time/rate"

	"github.com/afterparty/afterparty/shared/group"
)

// Ledger is the send ledger and checkpoint store, shaped like shared/dynamo's Store.
type Ledger interface {
	SendRecords(ctx context.Context, campaign string, memberIDs []string) (map[string]group.SendRecord, error)
	// ClaimSend, RenewClaim, MarkSent, MarkFailed and ReleaseClaim are fenced by the
	// claim id: only the claim that holds the entry renews, marks or releases it;
	// any other gets group.ErrLostClaim and the entry stays as its holder has it.
	ClaimSend(ctx context.Context, campaign, memberID, claim string, now time.Time, lease time.Duration) error
	RenewClaim(ctx context.Context, campaign, memberID, claim string, now time.Time, lease time.Duration) error
	MarkSent(ctx context.Context, campaign, memberID, claim, messageID string, now time.Time) error
	MarkFailed(ctx context.Context, campaign, memberID, claim, reason string, now time.Time) error
	ReleaseClaim(ctx context.Context, campaign, memberID, claim string) error
	SaveCursor(ctx context.Context, meetingID, kind, cursor, lastError string) error
}

// SES is the part of the SES v2 client the engine uses.
type SES interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

var _ SES = (*sesv2.Client)(nil)

// Batch is one page of candidate recipients and where the next page starts ("" at
// the end). Members the page holds who should not get the message are filtered by
// the source, so a batch is exactly who is due.
type Batch struct {
	Members []group.Member
	Next    string
}

// Job is one message kind for one meeting.
type Job struct {
	MeetingID string
	Kind      string
	Resume    string // cursor to start from ("" for the beginning)
	Page      func(ctx context.Context, after string) (Batch, error)
	// Render is called once per send, after the claim and right before the SES
	// call: a time it stamps (the Date header) is the time of sending.
	Render    func(ctx context.Context, m group.Member) ([]byte, error)
	From      string
	ConfigSet string // SES configuration set, if any
}

// ID names the job's ledger.
func (j Job) ID() string { return group.CampaignID(j.MeetingID, j.Kind) }

// Result counts what one run of a job did.
type Result struct {
	Sent    int // accepted by SES in this run
	Done    int // already sent (or failed) before this run
	Failed  int // addresses SES rejected in this run
	Pending int // claimed by another worker, or left for the next run after errors
	// PossibleDuplicates counts sends SES accepted after this run's claim had been
	// taken over by another worker (a stall past the lease): the member may hold two
	// copies. Each is logged; the other worker's ledger entry is left alone.
	PossibleDuplicates int
	Stopped            string // why the run stopped early ("" if it finished its sweep)
	Finished           bool   // the sweep reached the last recipient with every send confirmed
}

// ErrPaused means SES will not send for this account now: the campaign stops and a
// later run resumes it.
var ErrPaused = errors.New("SES sending is paused for this account")

// Engine runs jobs. One Engine serves one invocation; its pace is shared by every
// job and worker of that invocation.
type Engine struct {
	Ledger  Ledger
	SES     SES
	Clock   func() time.Time // wall clock for claims and deadlines
	Log     *slog.Logger
	Workers int           // concurrent senders (default 8)
	Lease   time.Duration // how long a claim lives before a crashed send is retried (default 2m)
	MaxRate float64       // emails/s cap on top of SES's MaxSendRate (0: SES's rate)
	// Rate, if set, is the account's shared send timeline: the pace (and the 24-hour
	// quota) is then one for every invocation of every function together, not this
	// engine's alone. Without it the engine paces itself only.
	Rate RateStore
	// Margin is how long before the context's deadline the engine stops claiming.
	Margin time.Duration

	once    sync.Once
	pace    interface{ Wait(context.Context) error }
	budget  atomic.Int64 // sends left in SES's 24-hour quota
	paceErr error
}

// BatchSize is how many recipients are read, checked and checkpointed at a time
// (BatchGetItem's limit).
const BatchSize = 100

func (e *Engine) defaults() {
	if e.Workers <= 0 {
		e.Workers = 8
	}
	if e.Lease <= 0 {
		e.Lease = 2 * time.Minute
	}
	if e.Margin <= 0 {
		e.Margin = 10 * time.Second
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.Clock == nil {
		e.Clock = time.Now
	}
}

// Pace reads the account's sending quota once and sets the token bucket from it.
func (e *Engine) Pace(ctx context.Context) error {
	e.defaults()
	e.once.Do(func() {
		acct, err := e.SES.GetAccount(ctx, &sesv2.GetAccountInput{})
		if err != nil {
			e.paceErr = fmt.Errorf("read SES sending quota: %w", err)
			return
		}
		if !acct.SendingEnabled {
			e.paceErr = ErrPaused
			return
		}
		r := 1.0
		remaining := int64(1 << 62)
		if q := acct.SendQuota; q != nil {
			if q.MaxSendRate > 0 {
				r = q.MaxSendRate
			}
			if q.Max24HourSend > 0 {
				remaining = int64(q.Max24HourSend - q.SentLast24Hours)
			}
		}
		if e.MaxRate > 0 && e.MaxRate < r {
			r = e.MaxRate
		}
		e.budget.Store(remaining)
		if e.Rate != nil {
			e.pace = newSharedPace(e.Rate, e.Clock, r, e.quotaLeft)
			e.Log.Info("sending pace, shared by every running invocation", "rate_per_second", r, "quota_left_24h", remaining)
			return
		}
		e.pace = rate.NewLimiter(rate.Limit(r), max(1, int(r/10)))
		e.Log.Info("sending pace", "rate_per_second", r, "quota_left_24h", remaining)
	})
	return e.paceErr
}

// quotaLeft reads how many sends SES's 24-hour quota has left for the account.
func (e *Engine) quotaLeft(ctx context.Context) (int64, error) {
	acct, err := e.SES.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return 0, fmt.Errorf("read SES sending quota: %w", err)
	}
	if q := acct.SendQuota; q != nil && q.Max24HourSend > 0 {
		return int64(q.Max24HourSend - q.SentLast24Hours), nil
	}
	return 1 << 62, nil
}

// Run sends the job's message to every due recipient not yet sent, from job.Resume.
func (e *Engine) Run(ctx context.Context, job Job) (Result, error) {
	var res Result
	if err := e.Pace(ctx); err != nil {
		if errors.Is(err, ErrPaused) {
			res.Stopped = err.Error()
			e.Log.Warn("campaign not started: SES sending is paused; a later run resumes it", "meeting", job.MeetingID, "kind", job.Kind)
		}
		// Recorded, so `afterparty status` says why this run sent nothing.
		if serr := e.Ledger.SaveCursor(context.WithoutCancel(ctx), job.MeetingID, job.Kind, job.Resume, err.Error()); serr != nil {
			err = errors.Join(err, serr)
		}
		return res, err
	}
	log := e.Log.With("meeting", job.MeetingID, "kind", job.Kind)
	cursor := job.Resume
	// confirmed is where the next run may start: after the last batch such that
	// every send of this run up to it is confirmed. It is saved every
	// CheckpointEvery batches and whenever the run ends, so a crash repeats at most
	// that many batches' ledger reads (never a send: the ledger says who is done),
	// and checkpoints add next to nothing to the two writes per recipient.
	confirmed, saved, batches := cursor, cursor, 0
	save := func(next string) error {
		if next == saved {
			return nil
		}
		if err := e.Ledger.SaveCursor(context.WithoutCancel(ctx), job.MeetingID, job.Kind, next, ""); err != nil {
			return err
		}
		saved = next
		return nil
	}
	// finish always records how the run ended, even where the cursor did not move:
	// the reason it stopped, or (no reason, cursor empty) a sweep to the end.
	finish := func(err error) (Result, error) {
		reason := res.Stopped
		if err != nil {
			reason = err.Error()
		}
		if reason == "" && !res.Finished {
			reason = fmt.Sprintf("%d sends not confirmed; the next run retries them", res.Pending)
		}
		if serr := e.Ledger.SaveCursor(context.WithoutCancel(ctx), job.MeetingID, job.Kind, confirmed, reason); serr != nil && err == nil {
			err = fmt.Errorf("checkpoint: %w", serr)
		}
		return res, err
	}
	// The next page and its ledger entries are read while this page sends, so the
	// workers never wait on DynamoDB at a page boundary.
	next := e.prefetch(ctx, job, cursor)
	for {
		if reason := e.mustStop(ctx); reason != "" {
			res.Stopped = reason
			return finish(nil)
		}
		page := <-next
		if page.err != nil {
			return finish(page.err)
		}
		batch := page.batch
		if batch.Next != "" {
			next = e.prefetch(ctx, job, batch.Next)
		}
		br, err := e.sendBatch(ctx, job, batch.Members, page.records, log)
		res.Sent += br.Sent
		res.Done += br.Done
		res.Failed += br.Failed
		res.Pending += br.Pending
		res.PossibleDuplicates += br.PossibleDuplicates
		if err != nil {
			res.Stopped = err.Error()
			return finish(err)
		}
		if br.Pending > 0 {
			// Not every send of this batch is confirmed: the checkpoint stays before it
			// so the next run looks at it again; this run goes on with the rest.
			log.Warn("batch left unconfirmed sends for the next run", "pending", br.Pending)
		} else if res.Pending == 0 && br.Stopped == "" {
			confirmed = batch.Next
		}
		if br.Stopped != "" {
			res.Stopped = br.Stopped
			return finish(nil)
		}
		if batch.Next == "" {
			res.Finished = res.Pending == 0
			return finish(nil)
		}
		if batches++; batches%CheckpointEvery == 0 {
			if err := save(confirmed); err != nil {
				return res, err
			}
		}
	}
}

// CheckpointEvery is how many confirmed batches pass between checkpoints.
const CheckpointEvery = 20

func (e *Engine) mustStop(ctx context.Context) string {
	if ctx.Err() != nil {
		return "cancelled"
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(e.Clock()) < e.Margin {
		return "stopped before the deadline; the next run resumes"
	}
	if e.budget.Load() <= 0 {
		return "SES's 24-hour sending quota is used up; the next run resumes"
	}
	return ""
}

type page struct {
	batch   Batch
	records map[string]group.SendRecord
	err     error
}

// prefetch reads the page after `after` and its members' ledger entries.
func (e *Engine) prefetch(ctx context.Context, job Job, after string) <-chan page {
	out := make(chan page, 1)
	go func() {
		b, err := job.Page(ctx, after)
		if err != nil {
			out <- page{err: fmt.Errorf("read recipients of %s: %w", job.ID(), err)}
			return
		}
		ids := make([]string, len(b.Members))
		for i, m := range b.Members {
			ids[i] = m.ID
		}
		var recs map[string]group.SendRecord
		if len(ids) > 0 {
			if recs, err = e.Ledger.SendRecords(ctx, job.ID(), ids); err != nil {
				out <- page{err: err}
				return
			}
		}
		out <- page{batch: b, records: recs}
	}()
	return out
}

func (e *Engine) sendBatch(ctx context.Context, job Job, members []group.Member, records map[string]group.SendRecord, log *slog.Logger) (Result, error) {
	var res Result
	if len(members) == 0 {
		return res, nil
	}
	todo := make(chan group.Member)
	var (
		mu              sync.Mutex
		fatal           error
		stopped         string
		wg              sync.WaitGroup
		workCtx, cancel = context.WithCancel(ctx)
	)
	defer cancel()
	count := func(f func(*Result)) { mu.Lock(); f(&res); mu.Unlock() }
	for range e.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range todo {
				outcome, err := e.sendOne(workCtx, job, m, log)
				count(func(r *Result) {
					switch outcome {
					case sent:
						r.Sent++
					case sentAfterTakeover:
						r.Sent++
						r.PossibleDuplicates++
					case rejected:
						r.Failed++
					case pending:
						r.Pending++
					}
				})
				if err != nil {
					mu.Lock()
					if fatal == nil {
						fatal = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for _, m := range members {
		if r, ok := records[m.ID]; ok && (r.State == group.SendSent || r.State == group.SendFailed) {
			res.Done++
			continue
		}
		if reason := e.mustStop(workCtx); reason != "" {
			stopped = reason
			break feed
		}
		select {
		case todo <- m:
		case <-workCtx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if fatal != nil {
		return res, fatal
	}
	if stopped != "" && ctx.Err() == nil {
		res.Stopped = stopped
	} else if ctx.Err() != nil {
		res.Stopped = "cancelled"
	}
	return res, nil
}

type outcome int

const (
	pending outcome = iota
	sent
	sentAfterTakeover // SES accepted it, but another worker holds the entry now
	rejected
)

func (e *Engine) sendOne(ctx context.Context, job Job, m group.Member, log *slog.Logger) (outcome, error) {
	log = log.With("member", m.ID)
	// The claim comes first, the send slot after: a slot is never spent on a member
	// another run holds (two runs of one campaign at once would waste half of theirs).
	claim, at := newClaimID(), e.Clock()
	if err := e.Ledger.ClaimSend(ctx, job.ID(), m.ID, claim, at, e.Lease); err != nil {
		if errors.Is(err, group.ErrClaimed) {
			return pending, nil
		}
		log.Error("claim failed; left for the next run", "error", err)
		return pending, nil
	}
	h := e.holdClaim(job.ID(), m.ID, claim, at)
	defer h.release()
	if err := e.pace.Wait(ctx); err != nil {
		switch {
		case errors.Is(err, errQuotaUsed):
			e.budget.Store(0) // the run stops: the next run resumes
		case ctx.Err() == nil:
			log.Error("no send slot on the shared send rate; left for the next run", "error", err)
		}
		e.release(job, m, claim, log)
		return pending, nil // cancelled, out of time or out of quota: the next run sends it
	}
	raw, err := job.Render(ctx, m)
	if err != nil {
		e.release(job, m, claim, log)
		return pending, fmt.Errorf("render %s for %s: %w", job.Kind, m.ID, err)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: &job.From,
		Destination:      &types.Destination{ToAddresses: []string{m.Email}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
	}
	if job.ConfigSet != "" {
		in.ConfigurationSetName = &job.ConfigSet
	}
	id, err := e.send(ctx, in, h)
	switch {
	case err == nil:
		e.budget.Add(-1)
		err := e.markSent(job, m.ID, claim, id)
		switch {
		case errors.Is(err, group.ErrLostClaim):
			// This worker stalled past its lease and another took the entry over:
			// the member may get this copy and the other worker's. Its entry stays.
			log.Error("sent after another worker took the claim over: a possible duplicate; the other worker's ledger entry is left as it is", "message_id", id)
			return sentAfterTakeover, nil
		case err != nil:
			// SES has it; only the mark is missing. The claim keeps others off until it
			// expires; this is the one window where a duplicate is possible.
			log.Error("sent but not marked; a duplicate is possible after the claim expires", "error", err)
		}
		log.Info("sent", "message_id", id)
		return sent, nil
	case errors.Is(err, errRejected):
		if err := e.Ledger.MarkFailed(context.WithoutCancel(ctx), job.ID(), m.ID, claim, err.Error(), e.Clock()); err != nil {
			log.Error("mark rejected address failed", "error", err)
		}
		log.Warn("SES rejected the address; recorded against the member", "error", err)
		return rejected, nil
	case errors.Is(err, errNotHeld):
		if !h.heldElsewhere() {
			e.release(job, m, claim, log)
		}
		log.Warn("send given up before calling SES again: the claim is taken over or could not be renewed; left to its holder or the next run", "error", err)
		return pending, nil
	case errors.Is(err, errSandboxed):
		e.release(job, m, claim, log)
		log.Warn("SES sandbox refuses this recipient (not verified); left for a run after the account leaves the sandbox")
		return pending, nil
	case errors.Is(err, ErrPaused), errors.Is(err, errRefused):
		e.release(job, m, claim, log)
		log.Error("SES refuses to send for this account; the campaign stops and a later run resumes it", "error", err)
		return pending, err
	case ctx.Err() != nil:
		e.release(job, m, claim, log)
		log.Info("send interrupted: the run is stopping; left for the next run", "error", err)
		return pending, nil
	default:
		e.release(job, m, claim, log)
		log.Warn("send failed after retries; left for the next run", "error", err)
		return pending, nil
	}
}

// release gives the claim back after a send that did not happen. A claim another
// worker took over meanwhile is left to it.
func (e *Engine) release(job Job, m group.Member, claim string, log *slog.Logger) {
	err := e.Ledger.ReleaseClaim(context.Background(), job.ID(), m.ID, claim)
	switch {
	case errors.Is(err, group.ErrLostClaim):
		log.Info("claim was taken over by another worker; its entry is left as it is")
	case err != nil:
		log.Error("release claim failed; it expires by itself", "error", err)
	}
}

// markSent insists: the message went out, so the ledger must say so. A claim
// taken over is final (group.ErrLostClaim): the entry is the other worker's.
func (e *Engine) markSent(job Job, memberID, claim, messageID string) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
		err = e.Ledger.MarkSent(context.Background(), job.ID(), memberID, claim, messageID, e.Clock())
		if err == nil || errors.Is(err, group.ErrLostClaim) {
			return err
		}
	}
	return err
}
