package campaign

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// RateStore is the account's shared send timeline (shared/dynamo's Store): every
// invocation of every function reserves its send slots on the same item, so all of
// them together stay at or under one rate and one 24-hour quota.
type RateStore interface {
	SendRate(ctx context.Context) (group.RateState, error)
	MoveSendRate(ctx context.Context, seen, next group.RateState) error
}

// errQuotaUsed means the shared 24-hour quota has no send left.
var errQuotaUsed = errors.New("SES's 24-hour sending quota is used up")

// SliceLength is how much send time one reservation on the shared timeline takes:
// at 50 emails/s, 10 slots for one conditional write.
const SliceLength = 200 * time.Millisecond

// quotaRefresh is how old the shared count of the 24-hour quota may get before a
// reservation reads SES's own count again.
const quotaRefresh = 5 * time.Minute

// sharedPace hands the engine's workers send times from slices of the shared
// timeline. A slice is reserved with one conditional write (compare-and-set on the
// next free slot and the quota left) and the next one is reserved when half of the
// current one is handed out, so workers do not wait on DynamoDB. The timeline is
// strictly sequential, every slot 1/rate after the one before, whoever holds it:
// invocations together never get more than rate slots a second.
type sharedPace struct {
	store RateStore
	clock func() time.Time
	every time.Duration // 1/rate
	batch int           // slots per reservation
	quota func(context.Context) (int64, error)

	// used only by the one reservation in flight
	seen  group.RateState
	known bool

	mu       sync.Mutex
	slots    []time.Time
	inflight chan struct{}
	err      error
}

func newSharedPace(store RateStore, clock func() time.Time, rate float64, quota func(context.Context) (int64, error)) *sharedPace {
	every := time.Duration(float64(time.Second) / rate)
	batch := max(1, int(math.Round(rate*SliceLength.Seconds())))
	return &sharedPace{store: store, clock: clock, every: every, batch: batch, quota: quota}
}

// Wait blocks until the next send time of this invocation's slots.
func (p *sharedPace) Wait(ctx context.Context) error {
	p.mu.Lock()
	for len(p.slots) == 0 {
		if p.err != nil {
			err := p.err
			p.err = nil
			p.mu.Unlock()
			return err
		}
		ch := p.refill()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	slot := p.slots[0]
	p.slots = p.slots[1:]
	if len(p.slots) <= p.batch/2 {
		p.refill()
	}
	p.mu.Unlock()
	d := slot.Sub(p.clock())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refill starts a reservation unless one is in flight; p.mu is held.
func (p *sharedPace) refill() chan struct{} {
	if p.inflight != nil {
		return p.inflight
	}
	ch := make(chan struct{})
	p.inflight = ch
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		slots, err := p.reserve(ctx)
		cancel()
		p.mu.Lock()
		p.slots = append(p.slots, slots...)
		p.err = err
		p.inflight = nil
		p.mu.Unlock()
		close(ch)
	}()
	return ch
}

// reserve takes the next slice of the shared timeline: it starts where the last
// reservation of any invocation ended, or now if the timeline has been idle for more
// than a slice (so a lone sender does not lose the time its own reservation takes,
// even a slow one, and idle time is never claimed back as more than one slice of
// catching up).
func (p *sharedPace) reserve(ctx context.Context) ([]time.Time, error) {
	for range 50 {
		if !p.known {
			st, err := p.store.SendRate(ctx)
			if err != nil {
				return nil, err
			}
			p.seen, p.known = st, true
		}
		now := p.clock()
		next := p.seen
		if !next.Exists || now.Sub(next.LeftAt) > quotaRefresh {
			left, err := p.quota(ctx)
			if err != nil {
				return nil, err
			}
			if ahead := next.Next.Sub(now); next.Exists && ahead > 0 {
				left -= int64(ahead / p.every) // slots reserved but maybe not sent yet
			}
			next.Left, next.LeftAt = left, now
		}
		n := int64(p.batch)
		if next.Left < n {
			n = max(0, next.Left)
		}
		if n == 0 {
			return nil, errQuotaUsed
		}
		start := now
		grace := time.Duration(p.batch) * p.every
		if next.Exists && next.Next.After(now.Add(-grace)) {
			start = next.Next
		}
		next.Exists = true
		next.Next = start.Add(time.Duration(n) * p.every)
		next.Left -= n
		err := p.store.MoveSendRate(ctx, p.seen, next)
		if errors.Is(err, group.ErrRateMoved) {
			p.known = false
			continue
		}
		if err != nil {
			return nil, err
		}
		p.seen = next
		slots := make([]time.Time, n)
		for i := range slots {
			slots[i] = start.Add(time.Duration(i) * p.every)
		}
		return slots, nil
	}
	return nil, fmt.Errorf("reserve send slots: the shared send timeline kept moving (50 tries)")
}
