package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// TestDemoCalendarAnswer: the demo's member who presses Yes in their calendar
// sends a REPLY to the reply address of the invitation they got, at its SEQUENCE;
// the replies handler records it, `rsvps` shows it came from the calendar, and the
// same message through `afterparty inbound` is a duplicate.
func TestDemoCalendarAnswer(t *testing.T) {
	c := newCLI(t)
	c.env = append(c.env, "AFTERPARTY_REPLY_DOMAIN="+demoReplyDomain)
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", `meetings:
  - meeting_id: 2031-05-08
    title: Tracing Go services
    starts_at: 2031-05-08T18:30
    venue: The Hall
`))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nlinus@demo.example,Linus Torvalds\n"))
	mustRun(t, c, "run", "invitations", "--at", "2031-04-24T18:30:00+01:00")
	a := c.app(t)
	ctx := context.Background()
	meetings, _, err := a.Runner.Meetings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m group.Meeting
	for _, x := range meetings {
		if x.ID == "2031-05-08" {
			m = x
		}
	}
	member := group.Member{ID: group.MemberID("linus@demo.example"), Email: "linus@demo.example", Name: "Linus Torvalds"}
	raw, out, err := demoCalendarAnswer(ctx, a, m, member, group.Yes, time.Date(2031, 4, 25, 12, 0, 0, 0, time.UTC))
	if err != nil || out.Action != "recorded" || out.Answer != group.Yes {
		t.Fatalf("outcome %+v, %v; want recorded yes", out, err)
	}
	for _, want := range []string{"METHOD:REPLY", "PARTSTAT=ACCEPTED", "rsvp+", "@" + demoReplyDomain, "UID:2031-05-08@afterparty.example", "SEQUENCE:0"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the REPLY lacks %q:\n%s", want, raw)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, c, "rsvps", "2031-05-08", "--csv"))).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][2] != "yes" || recs[1][len(recs[1])-1] != "calendar" {
		t.Fatalf("rsvps --csv: %v %q", err, recs)
	}
	if again := mustRun(t, c, "inbound", c.file(t, "reply.eml", string(raw))); !strings.HasPrefix(again, "duplicate") {
		t.Errorf("the same REPLY through afterparty inbound: %q, want duplicate", again)
	}
}
