package cycle_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// sentCalendar is what one email's invite.ics says, as golang-ical reads it back
// from the SES emulator's store.
type sentCalendar struct {
	Subject, Text, HTML string
	Method, UID, Status string
	Sequence            int
	Start               time.Time
	StartZone, Location string
}

// sentCalendars is every invite.ics the member was sent, oldest first.
func sentCalendars(t *testing.T, a *apptest.App, member string) []sentCalendar {
	t.Helper()
	var out []sentCalendar
	for _, e := range a.Inbox(t, a.Email(member)) {
		for _, att := range e.Attachments {
			if att.Filename != "invite.ics" {
				continue
			}
			cal, err := ics.ParseCalendar(bytes.NewReader(att.Content))
			if err != nil {
				t.Fatalf("%s's %q: invite.ics does not parse: %v", member, e.Subject, err)
			}
			evs := cal.Events()
			if len(evs) != 1 {
				t.Fatalf("%s's %q: %d events", member, e.Subject, len(evs))
			}
			ev := evs[0]
			c := sentCalendar{Subject: e.Subject, Text: e.Body.Text, HTML: e.Body.HTML, UID: ev.Id()}
			for _, p := range cal.CalendarProperties {
				if p.IANAToken == string(ics.PropertyMethod) {
					c.Method = p.Value
				}
			}
			prop := func(name ics.ComponentProperty) *ics.IANAProperty {
				p := ev.GetProperty(name)
				if p == nil {
					t.Fatalf("%s's %q: no %s", member, e.Subject, name)
				}
				return p
			}
			c.Status = prop(ics.ComponentPropertyStatus).Value
			c.Location = prop(ics.ComponentPropertyLocation).Value
			if c.Sequence, err = strconv.Atoi(prop(ics.ComponentPropertySequence).Value); err != nil {
				t.Fatalf("%s's %q: SEQUENCE: %v", member, e.Subject, err)
			}
			start := prop(ics.ComponentPropertyDtStart)
			if tz := start.ICalParameters["TZID"]; len(tz) == 1 {
				c.StartZone = tz[0]
			}
			loc, err := time.LoadLocation(c.StartZone)
			if err != nil {
				t.Fatal(err)
			}
			if c.Start, err = time.ParseInLocation("20060102T150405", start.Value, loc); err != nil {
				t.Fatalf("%s's %q: DTSTART %q: %v", member, e.Subject, start.Value, err)
			}
			out = append(out, c)
		}
	}
	return out
}

// wantOne checks each member got exactly one email whose subject starts with
// prefix, and returns its calendar by member.
func wantOne(t *testing.T, a *apptest.App, prefix string, members ...string) map[string]sentCalendar {
	t.Helper()
	out := map[string]sentCalendar{}
	for _, member := range members {
		var got []sentCalendar
		for _, c := range sentCalendars(t, a, member) {
			if strings.HasPrefix(c.Subject, prefix) {
				got = append(got, c)
			}
		}
		if len(got) != 1 {
			t.Fatalf("%s got %d %q emails, want 1", member, len(got), prefix)
		}
		out[member] = got[0]
	}
	return out
}

// wantEvent fetches a calendar from the site (a path, or a link from an email) and
// checks its one event for the meeting: UID, METHOD, SEQUENCE, STATUS, and the one
// attendee (none for the public feed, which holds no member data).
func wantEvent(t *testing.T, srv *httptest.Server, target, uid, method string, seq int, status, attendee string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(srv.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET %s: %s, Content-Type %q", u.Path, res.Status, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); cc == "" {
		t.Errorf("GET %s: no Cache-Control", u.Path)
	}
	cal, err := ics.ParseCalendar(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u.Path, err)
	}
	gotMethod := ""
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			gotMethod = p.Value
		}
	}
	var ev *ics.VEvent
	for _, e := range cal.Events() {
		if e.Id() == uid {
			ev = e
		}
	}
	if gotMethod != method || ev == nil {
		t.Fatalf("GET %s: METHOD %q, event %s found: %v", u.Path, gotMethod, uid, ev != nil)
	}
	value := func(p ics.ComponentProperty) string {
		if v := ev.GetProperty(p); v != nil {
			return v.Value
		}
		return ""
	}
	if value(ics.ComponentPropertySequence) != strconv.Itoa(seq) || value(ics.ComponentPropertyStatus) != status {
		t.Errorf("GET %s: SEQUENCE %q STATUS %q, want %d %s", u.Path, value(ics.ComponentPropertySequence), value(ics.ComponentPropertyStatus), seq, status)
	}
	var attendees []string
	for _, a := range ev.Attendees() {
		attendees = append(attendees, a.Email())
	}
	if want := []string{attendee}; (attendee == "" && len(attendees) != 0) || (attendee != "" && !reflect.DeepEqual(attendees, want)) {
		t.Errorf("GET %s: ATTENDEEs %q, want %q", u.Path, attendees, attendee)
	}
}

func edit(t *testing.T, a *apptest.App, id string, change map[string]string) group.Meeting {
	t.Helper()
	f := meetingFields(id)
	for k, v := range change {
		f[k] = v
	}
	return a.PutMeeting(t, f)
}

// TestUpdatesAndCancellation follows a meeting from its invitation through two edits
// of its time before a run (one update), a topic fix (nothing), a member who joins
// after the update (invited at the update's SEQUENCE) and a cancellation (one
// METHOD:CANCEL each), always with the invitation's UID.
func TestUpdatesAndCancellation(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada", "grace", "ken", "barbara")
	const id = "2031-03-13"
	m := a.PutMeeting(t, meetingFields(id))
	invited := m.Start.AddDate(0, 0, -14)
	if n := run(t, a, group.Invitation, invited); n != 4 {
		t.Fatalf("invitations sent %d, want 4", n)
	}
	first := wantOne(t, a, "You're invited", "ada", "grace", "ken", "barbara")
	uid := first["ada"].UID
	if uid != id+"@afterparty.example" {
		t.Fatalf("invitation UID %q", uid)
	}
	// Barbara leaves: no update or cancellation follows her.
	if err := a.Store.SetMemberStatus(ctx, group.MemberID(a.Email("barbara")), group.MemberUnsubscribed, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Two edits of the time before the next run: one update, at SEQUENCE 1, with
	// the last time and what it was.
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:00"})
	moved := edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:30"})
	if n := run(t, a, group.Invitation, invited.Add(time.Hour)); n != 3 {
		t.Fatalf("the update went to %d members, want 3", n)
	}
	if n := run(t, a, group.Invitation, invited.Add(2*time.Hour)); n != 0 {
		t.Fatalf("a second run sent %d more emails", n)
	}
	updates := wantOne(t, a, "Updated: ", "ada", "grace", "ken")
	wantTime := "New time: Thursday 13 March 2031, 19:30–21:30 PDT (was Thursday 13 March 2031, 18:30–20:30 PDT)"
	for member, c := range updates {
		if c.Method != "REQUEST" || c.Sequence != 1 || c.Status != "CONFIRMED" || c.UID != uid {
			t.Errorf("%s's update: METHOD %s SEQUENCE %d STATUS %s UID %s, want REQUEST 1 CONFIRMED %s", member, c.Method, c.Sequence, c.Status, c.UID, uid)
		}
		if !c.Start.Equal(moved.Start) || c.StartZone != "America/Los_Angeles" {
			t.Errorf("%s's update: DTSTART %v (%s), want %v", member, c.Start, c.StartZone, moved.Start)
		}
		if !strings.Contains(c.Text, wantTime) || !strings.Contains(c.HTML, "New time: Thursday 13 March 2031, 19:30") {
			t.Errorf("%s's update does not say what changed:\n%s", member, c.Text)
		}
	}
	wantCounts(t, a, "Updated", map[string]int{"ada": 1, "grace": 1, "ken": 1})

	// The member's .ics download and the public feed carry the same UID at the same
	// SEQUENCE, so a calendar that has the update does not take them for stale.
	srv := httptest.NewServer(a.Site.Handler())
	defer srv.Close()
	a.Site.Clock = func() time.Time { return invited.Add(time.Hour) }
	download := link(t, a, "ada", "Updated", "/invite.ics", "")
	wantEvent(t, srv, download, uid, "REQUEST", 1, "CONFIRMED", a.Email("ada"))
	wantEvent(t, srv, "/calendar.ics", uid, "PUBLISH", 1, "CONFIRMED", "")

	// A fix that calendars do not show sends nothing.
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:30", "topic": "Spans, and slow queries"})
	if n := run(t, a, group.Invitation, invited.Add(3*time.Hour)); n != 0 {
		t.Fatalf("a topic fix sent %d emails", n)
	}

	// A member who joins after the update is invited at its SEQUENCE, and gets no update.
	a.AddMembers(t, "newbie")
	if n := run(t, a, group.Invitation, invited.Add(4*time.Hour)); n != 1 {
		t.Fatalf("the new member: %d emails, want 1", n)
	}
	if c := wantOne(t, a, "You're invited", "newbie")["newbie"]; c.Sequence != 1 || c.UID != uid || !c.Start.Equal(moved.Start) {
		t.Errorf("new member's invitation: SEQUENCE %d UID %s DTSTART %v, want 1 %s %v", c.Sequence, c.UID, c.Start, uid, moved.Start)
	}
	if n := run(t, a, group.Invitation, invited.Add(5*time.Hour)); n != 0 {
		t.Fatalf("a run after the new member's invitation sent %d", n)
	}
	wantCounts(t, a, "Updated", map[string]int{"ada": 1, "grace": 1, "ken": 1})

	// Cancelled: one METHOD:CANCEL each, at SEQUENCE 2, to everyone invited and still a member.
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:30", "topic": "Spans, and slow queries", "status": "cancelled"})
	if n := run(t, a, group.Invitation, invited.Add(6*time.Hour)); n != 4 {
		t.Fatalf("the cancellation went to %d members, want 4", n)
	}
	if n := run(t, a, group.Invitation, invited.Add(7*time.Hour)); n != 0 {
		t.Fatalf("a run after the cancellation sent %d", n)
	}
	for member, c := range wantOne(t, a, "Cancelled: ", "ada", "grace", "ken", "newbie") {
		if c.Method != "CANCEL" || c.Status != "CANCELLED" || c.Sequence != 2 || c.UID != uid {
			t.Errorf("%s's cancellation: METHOD %s STATUS %s SEQUENCE %d UID %s, want CANCEL CANCELLED 2 %s", member, c.Method, c.Status, c.Sequence, c.UID, uid)
		}
	}
	wantEvent(t, srv, "/calendar.ics", uid, "PUBLISH", 2, "CANCELLED", "")
	// Nobody joining later is invited to a cancelled meeting; Barbara heard nothing more.
	a.AddMembers(t, "latecomer")
	if n := run(t, a, group.Invitation, invited.Add(8*time.Hour)); n != 0 {
		t.Fatalf("a run after the cancellation sent %d", n)
	}
	wantCounts(t, a, "", map[string]int{"ada": 3, "grace": 3, "ken": 3, "newbie": 2, "barbara": 1})
}

// TestMutingInvitationsKeepsCalendarsTrue: a member who turns invitations off after
// being invited still gets the meeting's update and cancellation (their calendar
// holds it); one who turned them off before the invitation gets none of the three.
func TestMutingInvitationsKeepsCalendarsTrue(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada", "grace", "early")
	mute := func(name string, at time.Time) {
		t.Helper()
		if err := a.Store.SetMuted(ctx, group.MemberID(a.Email(name)), []group.Kind{group.Invitation}, at); err != nil {
			t.Fatal(err)
		}
	}
	const id = "2031-03-13"
	m := a.PutMeeting(t, meetingFields(id))
	invited := m.Start.AddDate(0, 0, -14)
	mute("early", invited.Add(-time.Hour))
	if n := run(t, a, group.Invitation, invited); n != 2 {
		t.Fatalf("invitations sent %d, want 2 (not to early, who muted them)", n)
	}
	mute("grace", invited.Add(time.Minute))

	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:30"})
	if n := run(t, a, group.Invitation, invited.Add(time.Hour)); n != 2 {
		t.Fatalf("the update went to %d members, want 2 (ada, and grace who muted invitations after hers)", n)
	}
	for member, c := range wantOne(t, a, "Updated: ", "ada", "grace") {
		if c.Method != "REQUEST" || c.Sequence != 1 {
			t.Errorf("%s's update: METHOD %s SEQUENCE %d, want REQUEST 1", member, c.Method, c.Sequence)
		}
	}
	edit(t, a, id, map[string]string{"starts_at": "2031-03-13T19:30", "status": "cancelled"})
	if n := run(t, a, group.Invitation, invited.Add(2*time.Hour)); n != 2 {
		t.Fatalf("the cancellation went to %d members, want 2", n)
	}
	for member, c := range wantOne(t, a, "Cancelled: ", "ada", "grace") {
		if c.Method != "CANCEL" || c.Sequence != 2 {
			t.Errorf("%s's cancellation: METHOD %s SEQUENCE %d, want CANCEL 2", member, c.Method, c.Sequence)
		}
	}
	wantCounts(t, a, "", map[string]int{"ada": 3, "grace": 3})
}

// TestConcurrentRunsAgreeOnOneUpdate: runs at the same moment raise the SEQUENCE
// once and send each member one update, then one cancellation.
func TestConcurrentRunsAgreeOnOneUpdate(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada", "grace", "ken")
	const id = "concurrent"
	m := a.PutMeeting(t, meetingFields(id))
	at := m.Start.Add(-10 * 24 * time.Hour)
	if n := run(t, a, group.Invitation, at); n != 3 {
		t.Fatalf("invitations sent %d, want 3", n)
	}
	concurrently := func(at time.Time) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := a.Runner.Run(ctx, group.Invitation, at); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent run: %v", err)
		}
	}
	edit(t, a, id, map[string]string{"venue": "The Annex", "venue_address": "1 Side St"})
	concurrently(at.Add(time.Hour))
	for member, c := range wantOne(t, a, "Updated: ", "ada", "grace", "ken") {
		if c.Sequence != 1 || c.Location != "The Annex, 1 Side St" {
			t.Errorf("%s's update: SEQUENCE %d LOCATION %q, want 1 and the new venue", member, c.Sequence, c.Location)
		}
		if !strings.Contains(c.Text, "New venue: The Annex, 1 Side St (was Central Library, 801 SW 10th Ave, Portland)") {
			t.Errorf("%s's update does not say what changed:\n%s", member, c.Text)
		}
	}
	if got, err := a.Store.Announcement(ctx, id); err != nil || got.Sequence != 1 {
		t.Fatalf("announced sequence %d (%v), want 1", got.Sequence, err)
	}

	edit(t, a, id, map[string]string{"venue": "The Annex", "venue_address": "1 Side St", "status": "cancelled"})
	concurrently(at.Add(2 * time.Hour))
	for member, c := range wantOne(t, a, "Cancelled: ", "ada", "grace", "ken") {
		if c.Method != "CANCEL" || c.Status != "CANCELLED" || c.Sequence != 2 {
			t.Errorf("%s's cancellation: METHOD %s STATUS %s SEQUENCE %d", member, c.Method, c.Status, c.Sequence)
		}
	}
	wantCounts(t, a, "", map[string]int{"ada": 3, "grace": 3, "ken": 3})
}

// TestNothingAnnouncedBeforeTheInvitation: a meeting changed or cancelled before its
// invitations are due sends nothing, and a meeting cancelled before them never does.
func TestNothingAnnouncedBeforeTheInvitation(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada")
	moved := a.PutMeeting(t, meetingFields("moved-early"))
	early := moved.Start.Add(-20 * 24 * time.Hour)
	if n := run(t, a, group.Invitation, early); n != 0 {
		t.Fatalf("a run 20 days ahead sent %d", n)
	}
	moved = edit(t, a, "moved-early", map[string]string{"starts_at": "2031-03-14T18:30"})
	off := edit(t, a, "off-early", map[string]string{"status": "cancelled"})
	for _, at := range []time.Time{early.Add(time.Hour), moved.Start.AddDate(0, 0, -14), off.Start.Add(-time.Hour)} {
		run(t, a, group.Invitation, at)
	}
	wantCounts(t, a, "", map[string]int{"ada": 1})
	if c := wantOne(t, a, "You're invited", "ada")["ada"]; c.Sequence != 0 || !c.Start.Equal(moved.Start) {
		t.Errorf("invitation after an early edit: SEQUENCE %d DTSTART %v, want 0 %v", c.Sequence, c.Start, moved.Start)
	}
	if _, err := a.Store.Announcement(ctx, off.ID); err != dynamo.ErrNotFound {
		t.Errorf("the never-invited cancelled meeting was announced (err %v)", err)
	}
}

// TestChangesAgreeWithFingerprint: what announce compares a meeting by and what the
// update email says changed are the same fields.
func TestChangesAgreeWithFingerprint(t *testing.T) {
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(m *group.Meeting)
		update bool
	}{
		{"nothing", func(*group.Meeting) {}, false},
		{"title", func(m *group.Meeting) { m.Title += "!" }, false},
		{"topic", func(m *group.Meeting) { m.Topic += "!" }, false},
		{"speaker", func(m *group.Meeting) { m.Speaker, m.SpeakerIntro = "Ken", "Ken skis." }, false},
		{"pub", func(m *group.Meeting) { m.PubName, m.PubAddress = "The Crown", "1 High St" }, false},
		{"icebreaker and capacity", func(m *group.Meeting) { m.Icebreaker, m.Capacity = "Cats or dogs?", 10 }, false},
		{"start", func(m *group.Meeting) { m.Start = m.Start.Add(-time.Minute) }, true},
		{"end", func(m *group.Meeting) { m.End = m.End.Add(time.Minute) }, true},
		{"zone", func(m *group.Meeting) { m.Location = denver }, true},
		{"venue", func(m *group.Meeting) { m.Venue += " annex" }, true},
		{"venue address", func(m *group.Meeting) { m.VenueAddress = "" }, true},
		{"status", func(m *group.Meeting) { m.Status = group.StatusCancelled }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, _ := time.LoadLocation("America/Los_Angeles")
			before := group.Meeting{ID: "x", Title: "T", Start: time.Date(2031, 3, 13, 18, 30, 0, 0, loc), Location: loc,
				Venue: "Hall", VenueAddress: "1 Main St", Topic: "Go", Status: group.StatusScheduled}
			before.End = before.Start.Add(2 * time.Hour)
			after := before
			tt.change(&after)
			fpChanged := cycle.CalendarFingerprint(before) != cycle.CalendarFingerprint(after)
			said := emails.Changes(before, after)
			if fpChanged != tt.update || (len(said) > 0) != tt.update {
				t.Errorf("fingerprint changed %v, Changes %q; want an update: %v", fpChanged, said, tt.update)
			}
		})
	}
}
