package campaign

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/dynamo"
)

// memRate is the shared send timeline in memory, with the store's compare-and-set.
type memRate struct {
	mu     sync.Mutex
	st     dynamo.RateState
	writes atomic.Int64
}

func (m *memRate) SendRate(context.Context) (dynamo.RateState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st, nil
}

func (m *memRate) MoveSendRate(_ context.Context, seen, next dynamo.RateState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes.Add(1)
	if m.st.Exists != seen.Exists || (seen.Exists && (m.st.Next.UnixMicro() != seen.Next.UnixMicro() || m.st.Left != seen.Left)) {
		return dynamo.ErrRateMoved
	}
	next.Next = time.UnixMicro(next.Next.UnixMicro())
	m.st = next
	return nil
}

// Three invocations with work pacing on one timeline: together they send at the
// rate (0.95 to 1.00 of it), and no one-second window holds more than the rate.
func TestSharedPaceOneRateForAll(t *testing.T) {
	const rate, runs, workers = 100.0, 3, 8
	const dur = 3 * time.Second
	store := &memRate{}
	quota := func(context.Context) (int64, error) { return 1 << 40, nil }
	var mu sync.Mutex
	var sends []time.Time
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range runs {
		p := newSharedPace(store, time.Now, rate, quota)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p.Wait(ctx) == nil {
					mu.Lock()
					sends = append(sends, time.Now())
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	got := float64(len(sends)) / elapsed.Seconds() / rate
	if got < 0.95 || got > 1.0+float64(runs)*SliceLength.Seconds()/elapsed.Seconds() {
		t.Fatalf("%d sends in %v: %.3f of the rate, want 0.95 to 1.00", len(sends), elapsed, got)
	}
	sort.Slice(sends, func(i, j int) bool { return sends[i].Before(sends[j]) })
	peak := 0
	for i, j := 0, 0; i < len(sends); i++ {
		for sends[i].Sub(sends[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	// A slot is never early; a worker that is late for its slot sends at once, so a
	// second may hold the rate plus at most one slice of catching up.
	if limit := int(rate) + int(rate*SliceLength.Seconds()); peak > limit {
		t.Fatalf("a one-second window held %d sends, more than %d", peak, limit)
	}
	t.Logf("%.3f of the rate over %v; busiest second %d sends; %.3f timeline writes per send",
		got, elapsed.Round(time.Millisecond), peak, float64(store.writes.Load())/float64(len(sends)))
}

// The 24-hour quota is one for all invocations too.
func TestSharedPaceQuotaForAll(t *testing.T) {
	store := &memRate{}
	quota := func(context.Context) (int64, error) { return 37, nil }
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		p := newSharedPace(store, time.Now, 1000, quota)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					err := p.Wait(context.Background())
					if errors.Is(err, errQuotaUsed) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if n.Load() != 37 {
		t.Fatalf("%d sends with a quota of 37 left", n.Load())
	}
}
