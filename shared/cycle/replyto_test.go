package cycle_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// calendarReply is who a member's calendar answers, and whether it is asked to.
type calendarReply struct {
	Subject, Organizer, CN, RSVP, Description string
}

func calendarReplies(t *testing.T, a *apptest.App, member string) []calendarReply {
	t.Helper()
	var out []calendarReply
	for _, e := range a.Inbox(t, a.Email(member)) {
		for _, att := range e.Attachments {
			if att.Filename != "invite.ics" {
				continue
			}
			cal, err := ics.ParseCalendar(bytes.NewReader(att.Content))
			if err != nil {
				t.Fatal(err)
			}
			ev := cal.Events()[0]
			o := ev.GetProperty(ics.ComponentPropertyOrganizer)
			at := ev.Attendees()
			if o == nil || len(at) != 1 {
				t.Fatalf("%q: ORGANIZER %v, %d ATTENDEEs", e.Subject, o, len(at))
			}
			r := calendarReply{Subject: e.Subject, Organizer: strings.TrimPrefix(o.Value, "mailto:")}
			if cn := o.ICalParameters["CN"]; len(cn) == 1 {
				r.CN = cn[0]
			}
			if v := at[0].ICalParameters["RSVP"]; len(v) == 1 {
				r.RSVP = v[0]
			}
			if d := ev.GetProperty(ics.ComponentPropertyDescription); d != nil {
				r.Description = d.Value
			}
			out = append(out, r)
		}
	}
	return out
}

// TestReplyAddress: with a reply domain, the ORGANIZER of the invitation, the
// update and the cancellation is the member's rsvp+TOKEN address, the same in all
// three even after the signing key was rotated between them.
func TestReplyAddress(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_REPLY_DOMAIN": "Reply.Afterparty.Example"})
	a.AddMembers(t, "ada")
	const id = "2031-03-13"
	m := a.PutMeeting(t, meetingFields(id))
	invited := m.Start.AddDate(0, 0, -14)
	run(t, a, group.Invitation, invited)

	// The key is rotated: the old one is still accepted, the new one signs links.
	rotated, err := links.NewSigner("k2", []byte("a-rotated-key-a-rotated-key-a-rotated"))
	if err != nil {
		t.Fatal(err)
	}
	rotated.Accept(a.Signer.KeyID(), []byte("test-secret-test-secret-test-secret"))
	a.Runner.Links.Signer = rotated
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:00"})
	run(t, a, group.Invitation, invited.Add(time.Hour))
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:00", "status": "cancelled"})
	run(t, a, group.Invitation, invited.Add(2*time.Hour))

	got := calendarReplies(t, a, "ada")
	if len(got) != 3 {
		t.Fatalf("ada got %d calendars, want invitation, update, cancellation", len(got))
	}
	first := got[0]
	local, domain, _ := strings.Cut(first.Organizer, "@")
	tok, ok := strings.CutPrefix(local, "rsvp+")
	if !ok || domain != "reply.afterparty.example" || len(local) > 64 || first.CN != a.Config.GroupName || first.RSVP != "TRUE" {
		t.Fatalf("invitation ORGANIZER %q CN %q RSVP %q", first.Organizer, first.CN, first.RSVP)
	}
	c, err := rotated.VerifyReply(tok, []string{id}, invited)
	if err != nil || c.Member != group.MemberID(a.Email("ada")) {
		t.Fatalf("reply token: %+v, %v", c, err)
	}
	for _, r := range got[1:] {
		if r.Organizer != first.Organizer || r.RSVP != "TRUE" {
			t.Errorf("%q: ORGANIZER %q RSVP %q, want the invitation's %q and TRUE", r.Subject, r.Organizer, r.RSVP, first.Organizer)
		}
	}
}

// TestNoReplyDomain: without a reply domain, calendars are not asked to answer
// (their answer would go to From, which nobody reads) and the DESCRIPTION says to
// use the links. A meeting announced that way keeps From as its ORGANIZER when a
// reply domain is configured later.
func TestNoReplyDomain(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada")
	const id = "2031-03-13"
	m := a.PutMeeting(t, meetingFields(id))
	invited := m.Start.AddDate(0, 0, -14)
	run(t, a, group.Invitation, invited)

	a.Runner.Config.ReplyDomain = "reply.afterparty.example"
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:00"})
	run(t, a, group.Invitation, invited.Add(time.Hour))

	got := calendarReplies(t, a, "ada")
	if len(got) != 2 {
		t.Fatalf("ada got %d calendars, want invitation and update", len(got))
	}
	for _, r := range got {
		if r.Organizer != "organizers@afterparty.example" || r.RSVP != "FALSE" {
			t.Errorf("%q: ORGANIZER %q RSVP %q, want From and FALSE", r.Subject, r.Organizer, r.RSVP)
		}
		if !strings.Contains(r.Description, "Please answer with these links") || !strings.Contains(r.Description, "/rsvp?") {
			t.Errorf("%q: DESCRIPTION does not point to the links:\n%s", r.Subject, r.Description)
		}
	}
}
