package cycle_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/group"
)

// organizerApp is an app whose two organizer addresses are unique to the test.
func organizerApp(t *testing.T) (*apptest.App, []string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	domain := "org" + hex.EncodeToString(b) + ".example"
	orgs := []string{"ana@" + domain, "bo@" + domain}
	a := apptest.New(t, map[string]string{"AFTERPARTY_ORGANIZERS": "Ana <" + orgs[0] + ">, " + orgs[1]})
	return a, orgs
}

func inboxWith(t *testing.T, a *apptest.App, addr, subject string) []localstack.Email {
	t.Helper()
	var out []localstack.Email
	for _, e := range a.Inbox(t, addr) {
		if strings.Contains(e.Subject, subject) {
			out = append(out, e)
		}
	}
	return out
}

func row(fields map[string]string) group.Row { return apptest.Row(fields) }

// TestBadRowToldToOrganizersOncePerVersion proves the scheduled functions skip a
// bad row, send the good meeting, never put the bad row's content in a member's
// email, and email each organizer once per bad version of the row, naming the
// meeting, the field and the problem, whichever function sees it and however often.
func TestBadRowToldToOrganizersOncePerVersion(t *testing.T) {
	a, orgs := organizerApp(t)
	a.AddMembers(t, "ada", "bob")
	good := a.PutMeeting(t, meetingFields("good"))
	bad := meetingFields("bad-html")
	bad["title"] = `Free <script>alert(1)</script> pizza`
	bad["capacity"] = "-3"
	bad["pub_name"] = ""
	if err := a.Store.PutScheduleRow(ctx, row(bad)); err != nil {
		t.Fatal(err)
	}
	at := good.Start.AddDate(0, 0, -14)
	steps := []struct {
		name     string
		kind     group.Kind
		at       time.Time
		change   func(map[string]string) // a new version of the bad row
		problems int                     // problem emails each organizer has after the step
		want     []string                // what the latest one names
	}{
		{"invitations see it first", group.Invitation, at, nil, 1, []string{"bad-html", "title", "HTML", "capacity", "-3", "pub_name"}},
		{"a rerun says nothing new", group.Invitation, at.Add(15 * time.Minute), nil, 1, nil},
		{"another function says nothing new", group.Reminder, good.Start.Add(-47 * time.Hour), nil, 1, nil},
		{"a new bad version is told again", group.Teaser, good.Start.Add(-23 * time.Hour),
			func(f map[string]string) { f["title"] = "Fine title"; f["time_zone"] = "Mars/Olympus_Mons" }, 2, []string{"bad-html", "time_zone", "Mars/Olympus_Mons"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.change != nil {
				s.change(bad)
				if err := a.Store.PutScheduleRow(ctx, row(bad)); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := a.Runner.Run(ctx, s.kind, s.at)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Invalid) != 1 || rep.Invalid[0] != "bad-html" {
				t.Fatalf("invalid rows %v, want [bad-html]", rep.Invalid)
			}
			for _, o := range orgs {
				got := inboxWith(t, a, o, "Schedule problem: meeting bad-html")
				if len(got) != s.problems {
					t.Fatalf("%s has %d problem emails, want %d", o, len(got), s.problems)
				}
				latest := got[len(got)-1]
				for _, w := range s.want {
					if !strings.Contains(latest.Body.Text, w) {
						t.Errorf("%s's problem email lacks %q:\n%s", o, w, latest.Body.Text)
					}
				}
				if strings.Contains(latest.Body.HTML, "<script>") {
					t.Errorf("the problem email's HTML carries the row's markup unescaped")
				}
			}
		})
	}
	wantCounts(t, a, "invited", map[string]int{"ada": 1, "bob": 1})
	cs, err := a.Store.Campaigns(ctx, "bad-html")
	if err != nil || len(cs) != 2 || !strings.HasPrefix(cs[0].Kind, "problems-") || !strings.HasPrefix(cs[1].Kind, "problems-") {
		t.Fatalf("afterparty status should see two problem campaigns of bad-html: %+v %v", cs, err)
	}
	for _, m := range []string{"ada", "bob"} {
		for _, e := range a.Inbox(t, a.Email(m)) {
			if strings.Contains(e.Subject+e.Body.Text+e.Body.HTML, "pizza") || strings.Contains(e.Subject, "Schedule problem") {
				t.Fatalf("the bad row reached member %s: %q", m, e.Subject)
			}
		}
	}
}

// TestDigestHeadcounts proves the organizers' digest goes out once 1 day before
// and once 3 hours before, with Yes / Maybe / No / pub counts, the first-timers
// (first Yes of any meeting) and the meeting's icebreaker.
func TestDigestHeadcounts(t *testing.T) {
	a, orgs := organizerApp(t)
	ms := a.AddMembers(t, "ada", "bob", "cy", "dee")
	earlier := meetingFields("earlier")
	earlier["starts_at"] = "2031-02-13T18:30"
	past := a.PutMeeting(t, earlier)
	m := a.PutMeeting(t, meetingFields("digested"))
	now := time.Now()
	answers := []struct {
		meeting, member string
		a               group.Answer
	}{
		{past.ID, "ada", group.Yes}, // ada came before: not a first-timer
		{m.ID, "ada", group.Yes},
		{m.ID, "bob", group.Yes}, // bob's first Yes
		{m.ID, "cy", group.Maybe},
		{m.ID, "dee", group.No},
	}
	for _, x := range answers {
		if _, err := a.Store.SetRSVP(ctx, x.meeting, ms[x.member].ID, x.a, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store.SetPubAnswer(ctx, m.ID, ms["ada"].ID, true, now); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at    time.Time
		total int
	}{
		{m.Start.Add(-25 * time.Hour), 0},
		{m.Start.Add(-24 * time.Hour), 1},
		{m.Start.Add(-23 * time.Hour), 1}, // the same digest is not sent twice
		{m.Start.Add(-3 * time.Hour), 2},
		{m.Start.Add(-2 * time.Hour), 2},
		{m.Start.Add(time.Minute), 2}, // started: no digest
	}
	for _, s := range steps {
		if _, err := a.Runner.RunDigest(ctx, s.at); err != nil {
			t.Fatal(err)
		}
		for _, o := range orgs {
			if got := len(inboxWith(t, a, o, "Headcount: "+m.Title)); got != s.total {
				t.Fatalf("at %v %s has %d digests, want %d", s.at, o, got, s.total)
			}
		}
	}
	got := inboxWith(t, a, orgs[0], "Headcount: "+m.Title)
	ice, err := a.Runner.Icebreaker(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 yes, 1 maybe, 1 to the pub"} {
		if !strings.Contains(got[0].Subject, want) {
			t.Errorf("digest subject %q lacks %q", got[0].Subject, want)
		}
	}
	for _, want := range []string{"1 day before", "No:             1", "Bob Tester", ice} {
		if !strings.Contains(got[0].Body.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, got[0].Body.Text)
		}
	}
	if strings.Contains(got[0].Body.Text, "Ada Tester") {
		t.Errorf("ada said Yes before: not a first-timer:\n%s", got[0].Body.Text)
	}
	if !strings.Contains(got[1].Body.Text, "3 hours before") {
		t.Errorf("second digest:\n%s", got[1].Body.Text)
	}
	for _, mem := range []string{"ada", "bob"} {
		if n := len(inboxWith(t, a, a.Email(mem), "Headcount")); n != 0 {
			t.Fatalf("member %s got %d digests", mem, n)
		}
	}
}

// TestDigestCountsWaitlistAndGuests proves the digest reads the capacity feature's
// places: a Yes beyond the capacity is on the waitlist, and guests that fitted count.
func TestDigestCountsWaitlistAndGuests(t *testing.T) {
	a, orgs := organizerApp(t)
	ms := a.AddMembers(t, "ada", "bob")
	f := meetingFields("full")
	f["capacity"], f["guests_max"] = "2", "1"
	m := a.PutMeeting(t, f)
	now := time.Now()
	for _, x := range []struct {
		member string
		guests int
	}{{"ada", 1}, {"bob", 0}} {
		if _, err := a.Store.Answer(ctx, m.ID, ms[x.member].ID, group.Yes, x.guests, m.Capacity, group.SourceLink, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Runner.RunDigest(ctx, m.Start.Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := inboxWith(t, a, orgs[1], "Headcount: "+m.Title)
	if len(got) != 1 {
		t.Fatalf("%d digests", len(got))
	}
	for _, want := range []string{"Yes:            1 (capacity 2)", "Waitlist:       1", "Guests:         1", "3 hours before"} {
		if !strings.Contains(got[0].Body.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, got[0].Body.Text)
		}
	}
}

// TestFarStartSkipped proves a start more than five years ahead (a typo for 2026,
// or 9999) is a problem row: the run skips it, names starts_at to the organizers,
// and finishes.
func TestFarStartSkipped(t *testing.T) {
	a, orgs := organizerApp(t)
	a.AddMembers(t, "ada")
	far := meetingFields("typo-9999")
	far["starts_at"] = "9999-12-30T18:00"
	if err := a.Store.PutScheduleRow(ctx, row(far)); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Runner.Run(ctx, group.Invitation, a.Runner.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Invalid) != 1 || rep.Invalid[0] != "typo-9999" {
		t.Fatalf("invalid rows %v, want [typo-9999]", rep.Invalid)
	}
	got := inboxWith(t, a, orgs[0], "Schedule problem: meeting typo-9999")
	if len(got) != 1 || !strings.Contains(got[0].Body.Text, "starts_at") || !strings.Contains(got[0].Body.Text, "more than 5 years ahead") {
		t.Fatalf("problem emails %+v", got)
	}
}
