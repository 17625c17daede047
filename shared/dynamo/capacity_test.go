package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

var ctx = context.Background()

func newStore(t *testing.T) *dynamo.Store {
	t.Helper()
	stack := localstack.Get(t)
	schedule, state := stack.NewTables(t)
	return dynamo.New(stack.Dynamo(), schedule, state)
}

func memberID(i int) string { return fmt.Sprintf("m%04d", i) }

// checkConsistent proves the COUNT item and the RSVP items say the same thing:
// going is the sum of seats, waiting the size of the queue, and every RSVP item's
// mirrored place matches. It returns the members going and waitlisted.
func checkConsistent(t *testing.T, s *dynamo.Store, meeting string) (going, waitlisted map[string]group.RSVP) {
	t.Helper()
	p, err := s.Places(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, n := range p.Seats {
		sum += n
	}
	if sum != p.Going || len(p.Queue) != p.Waiting {
		t.Fatalf("COUNT item drifted: going %d, seats sum %d; waiting %d, queue %d", p.Going, sum, p.Waiting, len(p.Queue))
	}
	going, waitlisted = map[string]group.RSVP{}, map[string]group.RSVP{}
	after := ""
	places := 0
	for {
		page, next, err := s.RSVPsPage(ctx, meeting, after, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			switch r.Place {
			case group.PlaceGoing:
				going[r.MemberID] = r
				places += r.Seats
				if p.Seats[r.MemberID] != r.Seats || r.Answer != group.Yes {
					t.Errorf("%s: RSVP says going with %d (answer %s), COUNT says %d", r.MemberID, r.Seats, r.Answer, p.Seats[r.MemberID])
				}
			case group.PlaceWaitlisted:
				waitlisted[r.MemberID] = r
				if _, ok := p.Queue[r.MemberID]; !ok || r.Answer != group.Yes {
					t.Errorf("%s: RSVP says waitlisted (answer %s), COUNT does not", r.MemberID, r.Answer)
				}
			default:
				_, seated := p.Seats[r.MemberID]
				_, queued := p.Queue[r.MemberID]
				if seated || queued || r.Answer == group.Yes {
					t.Errorf("%s: RSVP answer %s has no place, COUNT seated %v queued %v", r.MemberID, r.Answer, seated, queued)
				}
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if places != p.Going || len(going) != len(p.Seats) || len(waitlisted) != p.Waiting {
		t.Fatalf("RSVP items: %d going holding %d places, %d waitlisted; COUNT: %d seats holding %d, %d waiting",
			len(going), places, len(waitlisted), len(p.Seats), p.Going, p.Waiting)
	}
	return going, waitlisted
}

// TestCapacityRace: 500 concurrent Yes for 100 places give exactly 100 going and
// 400 waitlisted; then 50 of the going say No and exactly the first 50 in line are
// promoted, in order.
func TestCapacityRace(t *testing.T) {
	s := newStore(t)
	const meeting, capacity, clicks = "race", 100, 500
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clicks)
	sem := make(chan struct{}, 64)
	for i := range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// Distinct, increasing times: the queue is first come first served.
			_, err := s.Answer(ctx, meeting, memberID(i), group.Yes, 0, capacity, group.SourceLink, start.Add(time.Duration(i)*time.Millisecond))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d concurrent Yes in %v", clicks, time.Since(start).Round(time.Millisecond))
	going, waitlisted := checkConsistent(t, s, meeting)
	if len(going) != capacity || len(waitlisted) != clicks-capacity {
		t.Fatalf("going %d, waitlisted %d; want %d and %d", len(going), len(waitlisted), capacity, clicks-capacity)
	}
	p, _ := s.Places(ctx, meeting)
	line := p.QueueOrder()

	// 50 of the going change their minds; the first 50 in line move up, in order.
	leaving := 0
	for id := range going {
		if leaving == 50 {
			break
		}
		leaving++
		b, err := s.Answer(ctx, meeting, id, group.No, 0, capacity, group.SourceLink, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Promoted) != 1 || b.Promoted[0] != line[leaving-1] {
			t.Fatalf("No #%d promoted %v, want [%s] (first in line)", leaving, b.Promoted, line[leaving-1])
		}
	}
	going, waitlisted = checkConsistent(t, s, meeting)
	if len(going) != capacity || len(waitlisted) != clicks-capacity-50 {
		t.Fatalf("after 50 No: going %d, waitlisted %d", len(going), len(waitlisted))
	}
}

// TestGuestsAndWaitlist walks one small meeting through answers with guests.
func TestGuestsAndWaitlist(t *testing.T) {
	s := newStore(t)
	const meeting, capacity = "guests", 4
	now := time.Now()
	steps := []struct {
		name         string
		member       string
		answer       group.Answer
		guests       int
		wantPlace    string
		wantSeats    int
		wantRefused  int
		wantPromoted []string
		wantGoing    int
		wantWaiting  int
	}{
		{"ada brings two", "ada", group.Yes, 2, group.PlaceGoing, 3, 0, nil, 3, 0},
		{"ken alone fits", "ken", group.Yes, 0, group.PlaceGoing, 1, 0, nil, 4, 0},
		{"grace with one waits", "grace", group.Yes, 1, group.PlaceWaitlisted, 0, 0, nil, 4, 1},
		{"bob waits behind grace", "bob", group.Yes, 0, group.PlaceWaitlisted, 0, 0, nil, 4, 2},
		{"ken can't bring a guest while full", "ken", group.Yes, 1, group.PlaceGoing, 1, 1, nil, 4, 2},
		{"ada drops a guest: one place, grace needs two: nobody moves", "ada", group.Yes, 1, group.PlaceGoing, 2, 0, nil, 3, 2},
		{"ada says maybe: grace and bob move up", "ada", group.Maybe, 0, "", 0, 0, []string{"grace", "bob"}, 4, 0},
		{"same answer again changes nothing", "bob", group.Yes, 0, group.PlaceGoing, 1, 0, nil, 4, 0},
		{"a guest on No is ignored", "eve", group.No, 3, "", 0, 0, nil, 4, 0},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			b, err := s.Answer(ctx, meeting, st.member, st.answer, st.guests, capacity, group.SourceLink, now.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if b.RSVP.Place != st.wantPlace || b.RSVP.Seats != st.wantSeats || b.GuestsRefused != st.wantRefused ||
				fmt.Sprint(b.Promoted) != fmt.Sprint(st.wantPromoted) || b.Going != st.wantGoing || b.Waiting != st.wantWaiting {
				t.Fatalf("got place %q seats %d refused %d promoted %v going %d waiting %d; want %q %d %d %v %d %d",
					b.RSVP.Place, b.RSVP.Seats, b.GuestsRefused, b.Promoted, b.Going, b.Waiting,
					st.wantPlace, st.wantSeats, st.wantRefused, st.wantPromoted, st.wantGoing, st.wantWaiting)
			}
			checkConsistent(t, s, meeting)
		})
	}
}

// TestReconcileAfterCrash: answers written without their second write (a crash
// between the RSVP item and the COUNT item) are put right by Reconcile.
func TestReconcileAfterCrash(t *testing.T) {
	s := newStore(t)
	const meeting, capacity = "crash", 2
	now := time.Now()
	for _, id := range []string{"ada", "ken", "bob"} {
		if _, err := s.Answer(ctx, meeting, id, group.Yes, 0, capacity, group.SourceLink, now); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	// Crash 1: ada's No reached her RSVP item, not the COUNT item (she still holds a place).
	if _, err := s.SetRSVP(ctx, meeting, "ada", group.No, now); err != nil {
		t.Fatal(err)
	}
	// Crash 2: eve's Yes reached her RSVP item only.
	if _, err := s.SetRSVP(ctx, meeting, "eve", group.Yes, now); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Reconcile(ctx, meeting, capacity, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Resynced) != 2 || fmt.Sprint(rep.Promoted) != "[bob]" || rep.Going != 2 || rep.Waiting != 1 {
		t.Fatalf("reconcile: %+v; want ada and eve resynced, bob promoted, 2 going, eve waiting", rep)
	}
	going, waitlisted := checkConsistent(t, s, meeting)
	if _, ok := going["bob"]; !ok {
		t.Errorf("bob is not going: %v", going)
	}
	if _, ok := waitlisted["eve"]; !ok {
		t.Errorf("eve is not waitlisted: %v", waitlisted)
	}
	again, err := s.Reconcile(ctx, meeting, capacity, now)
	if err != nil || len(again.Resynced) != 0 || again.Mirrored != 0 || len(again.Promoted) != 0 {
		t.Fatalf("a second reconcile found work: %+v %v", again, err)
	}
}

// TestOneMemberAlternating: 100 concurrent alternating answers from one member
// leave their place matching whichever answer was recorded last.
func TestOneMemberAlternating(t *testing.T) {
	s := newStore(t)
	const meeting, capacity = "flip", 1
	if _, err := s.Answer(ctx, meeting, "other", group.Yes, 0, capacity, group.SourceLink, time.Now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := group.Yes
			if i%2 == 1 {
				a = group.No
			}
			if _, err := s.Answer(ctx, meeting, "flipper", a, 0, capacity, group.SourceLink, time.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	checkConsistent(t, s, meeting)
	r, err := s.RSVP(ctx, meeting, "flipper")
	if err != nil || r.Changes != 100 {
		t.Fatalf("flipper: %+v %v; want 100 changes", r, err)
	}
	wantPlace := map[group.Answer]string{group.Yes: group.PlaceWaitlisted, group.No: ""}[r.Answer]
	if r.Place != wantPlace {
		t.Fatalf("flipper's last answer %s, place %q; want %q", r.Answer, r.Place, wantPlace)
	}
}

// TestAnswersRace: many concurrent answers, several from each member (Yes with
// guests, No, Maybe, as double clicks from two tabs make them), with and without a
// capacity. Afterwards, without a Reconcile, COUNT's going is the sum of its seats
// and every member's place matches their last recorded answer (checkConsistent),
// a Yes without a capacity holds 1 + its guests, and with a capacity nobody goes
// beyond it.
func TestAnswersRace(t *testing.T) {
	for _, capacity := range []int{0, 12} {
		t.Run(fmt.Sprintf("capacity=%d", capacity), func(t *testing.T) {
			s := newStore(t)
			meeting := fmt.Sprintf("race-answers-%d", capacity)
			const members, each = 20, 8
			answers := []struct {
				a      group.Answer
				guests int
			}{{group.Yes, 0}, {group.No, 0}, {group.Yes, 2}, {group.Maybe, 0}, {group.Yes, 1}}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 48)
			start := time.Now()
			for i := range members * each {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					pick := answers[(i*7+i/members)%len(answers)]
					if _, err := s.Answer(ctx, meeting, memberID(i%members), pick.a, pick.guests, capacity, group.SourceLink, start.Add(time.Duration(i)*time.Millisecond)); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			going, waitlisted := checkConsistent(t, s, meeting)
			p, err := s.Places(ctx, meeting)
			if err != nil {
				t.Fatal(err)
			}
			if capacity > 0 && p.Going > capacity {
				t.Fatalf("going %d beyond capacity %d", p.Going, capacity)
			}
			for id, r := range going {
				if capacity == 0 && r.Seats != 1+r.Guests {
					t.Errorf("%s: going with %d places after a Yes with %d guests", id, r.Seats, r.Guests)
				}
			}
			if capacity == 0 && len(waitlisted) > 0 {
				t.Errorf("waitlisted without a capacity: %v", waitlisted)
			}
			// No place is left free while the first in line would fit: a request
			// that left a promotion to another (which was under way) saw it done.
			if order := p.QueueOrder(); capacity > 0 && len(order) > 0 {
				_, wants, _ := strings.Cut(p.Queue[order[0]], "|")
				if n, _ := strconv.Atoi(wants); p.Going+n <= capacity {
					t.Errorf("%s waits for %d places while %d of %d are taken", order[0], n, p.Going, capacity)
				}
			}
			t.Logf("%d answers: %d going (%d places), %d waitlisted", members*each, len(going), p.Going, len(waitlisted))
		})
	}
}
