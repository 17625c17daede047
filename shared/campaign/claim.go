package campaign

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// errNotHeld means a send stopped before an SES call because its claim could not be
// shown to outlast the call: another worker holds the entry now, or the lease could
// not be renewed in time. Nothing was sent by this attempt.
var errNotHeld = errors.New("the send claim is no longer held long enough to send")

// attemptTimeout is the client timeout of one SES call: well inside the lease, so
// a call this worker starts while it holds the claim ends (answered or abandoned)
// before the claim could be taken over.
func (e *Engine) attemptTimeout() time.Duration { return min(30*time.Second, e.Lease/4) }

// hold is one live claim on a ledger entry: its id (the fence every mark, renewal
// and release presents), how long it is known to last, and a renewer that extends
// it at half the lease while the send goes on (backoff included).
type hold struct {
	e        *Engine
	campaign string
	member   string
	id       string

	mu    sync.Mutex
	until time.Time
	lost  bool

	stop chan struct{}
	done chan struct{}
}

// newClaimID is a random id per claim.
func newClaimID() string { return rand.Text() }

// holdClaim starts renewing a claim just taken at `at`. Call release when the send
// is over (marked, released or abandoned).
func (e *Engine) holdClaim(campaign, member, id string, at time.Time) *hold {
	h := &hold{e: e, campaign: campaign, member: member, id: id, until: at.Add(e.Lease),
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.renewEvery(e.Lease / 2)
	return h
}

func (h *hold) renewEvery(d time.Duration) {
	defer close(h.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			if err := h.renew(context.Background()); errors.Is(err, group.ErrLostClaim) {
				return
			}
		}
	}
}

// renew extends the claim to now+lease if it still holds the entry.
func (h *hold) renew(ctx context.Context) error {
	h.mu.Lock()
	lost := h.lost
	h.mu.Unlock()
	if lost {
		return group.ErrLostClaim
	}
	now := h.e.Clock()
	rctx, cancel := context.WithTimeout(ctx, h.e.attemptTimeout())
	defer cancel()
	err := h.e.Ledger.RenewClaim(rctx, h.campaign, h.member, h.id, now, h.e.Lease)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.until = now.Add(h.e.Lease)
	case errors.Is(err, group.ErrLostClaim):
		h.lost = true
	}
	return err
}

// ready says whether an SES call of attemptTimeout may start now: the claim is
// still this worker's and lasts past the end of the call with room to spare (half
// a lease; it is renewed first if not).
func (h *hold) ready(ctx context.Context) error {
	h.mu.Lock()
	lost, left := h.lost, h.until.Sub(h.e.Clock())
	h.mu.Unlock()
	if lost {
		return errNotHeld
	}
	if left >= h.e.Lease/2 {
		return nil
	}
	if err := h.renew(ctx); err != nil {
		return errors.Join(errNotHeld, err)
	}
	return nil
}

// heldElsewhere says whether the claim is known to have been taken over.
func (h *hold) heldElsewhere() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// release stops the renewer.
func (h *hold) release() {
	close(h.stop)
	<-h.done
}
