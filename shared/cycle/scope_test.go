package cycle_test

import (
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
)

// TestScopeLimitsARun proves what `afterparty smoke` relies on: a run without a
// scope leaves a smoke test's meeting alone (a deployed function waking up during a
// smoke test emails nobody about it), and a scoped run looks at that meeting only
// and sends its member emails only to the scope's members.
func TestScopeLimitsARun(t *testing.T) {
	a := apptest.New(t, nil)
	ms := a.AddMembers(t, "ada", "bob")
	smokeID := cycle.SmokePrefix + "20310313-183000"
	a.PutMeeting(t, meetingFields(smokeID))
	a.PutMeeting(t, meetingFields("2031-03-13"))
	at := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

	rep, err := a.Runner.Run(ctx, group.Invitation, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Meetings {
		if m.MeetingID == smokeID {
			t.Fatalf("an unscoped run looked at the smoke meeting: %+v", rep)
		}
	}
	wantCounts(t, a, "Tracing", map[string]int{"ada": 1, "bob": 1})

	scoped := *a.Runner
	scoped.Only = &cycle.Scope{MeetingID: smokeID, MemberIDs: []string{ms["bob"].ID}}
	rep, err = scoped.Run(ctx, group.Invitation, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Meetings) != 1 || rep.Meetings[0].MeetingID != smokeID || rep.Meetings[0].Result.Sent != 1 {
		t.Fatalf("a scoped run should send the smoke meeting's invitation to bob alone: %+v", rep)
	}
	wantCounts(t, a, "Tracing", map[string]int{"ada": 1, "bob": 2})
}
