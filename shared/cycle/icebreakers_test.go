package cycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/icebreakers"
)

// TestIcebreakerRotation proves meetings without their own question get the
// organizers' questions first, in the order added, then the shipped bank, with no
// question asked twice until all are used, a drawn question stays fixed, and
// PeekIcebreaker (preview) predicts the draw without making it.
func TestIcebreakerRotation(t *testing.T) {
	a := apptest.New(t, nil)
	own := []string{"What was your first computer?", "Which bug are you proudest of fixing?"}
	for i, q := range own {
		if err := a.Store.AddQuestion(ctx, q, time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	bank := icebreakers.Bank()
	n := len(own) + len(bank)
	seen := map[string]string{}
	var first string
	for i := range n {
		f := meetingFields(fmt.Sprintf("m%03d", i))
		f["icebreaker"] = ""
		m := a.PutMeeting(t, f)
		peek, err := a.Runner.PeekIcebreaker(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := a.Runner.PeekIcebreaker(ctx, m); again != peek {
			t.Fatalf("peeking changed the draw: %q then %q", peek, again)
		}
		q, err := a.Runner.Icebreaker(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if q != peek {
			t.Fatalf("meeting %d: preview said %q, the draw gave %q", i, peek, q)
		}
		if i < len(own) && q != own[i] {
			t.Fatalf("meeting %d got %q, want the organizers' question %q", i, q, own[i])
		}
		if prev, dup := seen[q]; dup {
			t.Fatalf("%q asked at %s and again at meeting %d before the bank was used up", q, prev, i)
		}
		seen[q] = m.ID
		if i == 0 {
			first = q
		}
	}
	m0 := group.Meeting{ID: "m000"}
	if q, err := a.Runner.Icebreaker(ctx, m0); err != nil || q != first {
		t.Fatalf("a drawn question must stay: %q %v, want %q", q, err, first)
	}
}
