package cycle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

var ctx = context.Background()

// start is the test meeting's start: far enough ahead that real-time checks (link
// expiry) hold, and fixed so planned times are exact.
const start = "2031-03-13T18:30" // the Thursday after US DST starts (2031-03-09)

func meetingFields(id string) map[string]string {
	return map[string]string{
		"meeting_id": id, "title": "Tracing Go services, for real", "starts_at": start,
		"venue": "Central Library", "venue_address": "801 SW 10th Ave, Portland", "speaker": "Selena",
		"speaker_intro": "Selena once ran a user group from a pub booth.", "topic": "Spans and slow queries",
		"pub_name": "The Lucky Lab", "pub_address": "915 SE Hawthorne Blvd",
	}
}

func run(t *testing.T, a *apptest.App, kind group.Kind, at time.Time) int {
	t.Helper()
	rep, err := a.Runner.Run(ctx, kind, at)
	if err != nil {
		t.Fatalf("run %s at %s: %v", kind, at, err)
	}
	sent := 0
	for _, m := range rep.Meetings {
		sent += m.Result.Sent
	}
	return sent
}

func wantCounts(t *testing.T, a *apptest.App, subject string, want map[string]int) {
	t.Helper()
	got := a.Counts(t, subject)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%q emails: got %v, want %v", subject, got, want)
			return
		}
	}
	for k, n := range got {
		if want[k] != n {
			t.Errorf("%q emails: got %v, want %v", subject, got, want)
			return
		}
	}
}

var linkRE = regexp.MustCompile(`http://127\.0\.0\.1:8080/[a-z.]+\?[^\s"<>)]+`)

// link finds a link to path in the member's latest email whose subject contains subject.
func link(t *testing.T, a *apptest.App, member, subject, path, answer string) string {
	t.Helper()
	inbox := a.Inbox(t, a.Email(member))
	for i := len(inbox) - 1; i >= 0; i-- {
		if !strings.Contains(inbox[i].Subject, subject) {
			continue
		}
		for _, l := range linkRE.FindAllString(inbox[i].Body.Text, -1) {
			u, _ := url.Parse(l)
			if u.Path == path && (answer == "" || u.Query().Get("answer") == answer) {
				return l
			}
		}
		t.Fatalf("no %s link (answer %q) in %s's %q email:\n%s", path, answer, member, subject, inbox[i].Body.Text)
	}
	t.Fatalf("%s has no email with subject containing %q", member, subject)
	return ""
}

// click follows a link on the test server: GET shows the page, POST (the page's
// button) records.
func click(t *testing.T, srv *httptest.Server, link, method string, form url.Values) int {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	target := srv.URL + u.Path + "?" + u.RawQuery
	var res *http.Response
	if method == http.MethodGet {
		res, err = http.Get(target)
	} else {
		res, err = http.PostForm(target, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestMeetingCycle(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada", "grace", "ken", "barbara", "linus")
	if err := a.Store.SetMemberStatus(ctx, group.MemberID(a.Email("linus")), group.MemberUnsubscribed, time.Now()); err != nil {
		t.Fatal(err)
	}
	m := a.PutMeeting(t, meetingFields("2031-03-13"))
	srv := httptest.NewServer(a.Site.Handler())
	defer srv.Close()
	a.Site.Clock = func() time.Time { return m.Start.Add(-7 * 24 * time.Hour) }

	// Invitations: not before 14 days, then once to every active member.
	if n := run(t, a, group.Invitation, m.Start.Add(-15*24*time.Hour)); n != 0 {
		t.Fatalf("invitations sent %d emails 15 days ahead", n)
	}
	if n := run(t, a, group.Invitation, m.Start.AddDate(0, 0, -14)); n != 4 {
		t.Fatalf("invitations sent %d, want 4", n)
	}
	if n := run(t, a, group.Invitation, m.Start.Add(-13*24*time.Hour)); n != 0 {
		t.Fatalf("a second run sent %d more invitations", n)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); a.Runner.Run(ctx, group.Invitation, m.Start.Add(-12*24*time.Hour)) }()
	}
	wg.Wait()
	wantCounts(t, a, "invited", map[string]int{"ada": 1, "grace": 1, "ken": 1, "barbara": 1})

	inv := a.Inbox(t, a.Email("ada"))[0]
	if !strings.Contains(inv.Subject, m.Title) || !strings.Contains(inv.Body.Text, "Ada") || inv.Body.HTML == "" {
		t.Errorf("invitation is not personal or lacks a part: subject %q", inv.Subject)
	}
	var ics bool
	for _, att := range inv.Attachments {
		ics = ics || att.Filename == "invite.ics"
	}
	if !ics {
		t.Error("invitation has no invite.ics attachment")
	}

	// Answers: a GET records nothing (mail scanners), a POST records.
	adaYes := link(t, a, "ada", "invited", "/rsvp", "yes")
	if code := click(t, srv, adaYes, http.MethodGet, nil); code != http.StatusOK {
		t.Fatalf("GET rsvp: %d", code)
	}
	if _, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("ada"))); err != dynamo.ErrNotFound {
		t.Fatalf("a GET recorded an answer (err %v)", err)
	}
	forged := strings.Replace(adaYes, "t=", "t=x", 1)
	if code := click(t, srv, forged, http.MethodPost, url.Values{"answer": {"yes"}}); code < 400 || code > 499 {
		t.Fatalf("forged link: %d, want 4xx", code)
	}
	if _, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("ada"))); err != dynamo.ErrNotFound {
		t.Fatalf("a forged link recorded an answer (err %v)", err)
	}
	for member, answer := range map[string]string{"ada": "yes", "grace": "maybe", "ken": "no"} {
		l := link(t, a, member, "invited", "/rsvp", answer)
		if code := click(t, srv, l, http.MethodPost, url.Values{"answer": {answer}}); code != http.StatusOK {
			t.Fatalf("POST rsvp for %s: %d", member, code)
		}
		got, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email(member)))
		if err != nil || string(got.Answer) != answer {
			t.Fatalf("%s's answer: %+v, %v", member, got, err)
		}
	}

	// Reminder: all but No; teaser: Yes and Maybe; pub: Yes and Maybe.
	if n := run(t, a, group.Reminder, m.Start.Add(-48*time.Hour)); n != 3 {
		t.Fatalf("reminders sent %d, want 3", n)
	}
	run(t, a, group.Reminder, m.Start.Add(-47*time.Hour))
	wantCounts(t, a, "Reminder", map[string]int{"ada": 1, "grace": 1, "barbara": 1})
	if n := run(t, a, group.Teaser, m.Start.Add(-24*time.Hour)); n != 2 {
		t.Fatalf("teasers sent %d, want 2", n)
	}
	wantCounts(t, a, "icebreaker", map[string]int{"ada": 1, "grace": 1})
	if n := run(t, a, group.Pub, m.End.Add(-time.Minute)); n != 0 {
		t.Fatalf("pub email went out before the end")
	}
	if n := run(t, a, group.Pub, m.End.Add(10*time.Minute)); n != 2 {
		t.Fatalf("pub emails sent %d, want 2", n)
	}
	wantCounts(t, a, "After-party", map[string]int{"ada": 1, "grace": 1})

	pub := link(t, a, "ada", "After-party", "/pub", "")
	a.Site.Clock = func() time.Time { return m.End.Add(20 * time.Minute) }
	if code := click(t, srv, pub, http.MethodPost, url.Values{"coming": {"yes"}}); code != http.StatusOK {
		t.Fatalf("POST pub: %d", code)
	}
	if p, err := a.Store.PubAnswer(ctx, m.ID, group.MemberID(a.Email("ada"))); err != nil || !p.Coming {
		t.Fatalf("pub answer not recorded: %+v %v", p, err)
	}
	// Answers close when the meeting starts.
	if code := click(t, srv, link(t, a, "barbara", "invited", "/rsvp", "yes"), http.MethodPost, url.Values{"answer": {"yes"}}); code != http.StatusConflict {
		t.Fatalf("RSVP after the start: %d, want 409", code)
	}
}

func TestStalePubAndCancelled(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada")
	late := a.PutMeeting(t, meetingFields("late"))
	f := meetingFields("off")
	f["status"] = "cancelled"
	f["title"] = "Called off"
	off := a.PutMeeting(t, f)
	id := group.MemberID(a.Email("ada"))
	for _, mid := range []string{late.ID, off.ID} {
		if _, err := a.Store.SetRSVP(ctx, mid, id, group.Yes, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := run(t, a, group.Pub, late.End.Add(3*time.Hour)); n != 0 {
		t.Fatalf("a pub email went out 3 hours after the end")
	}
	for _, k := range group.Kinds {
		for _, at := range []time.Time{off.Start.Add(-24 * time.Hour), off.End.Add(time.Minute)} {
			rep, err := a.Runner.Run(ctx, k, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, mr := range rep.Meetings {
				if mr.MeetingID == off.ID && mr.Result.Sent > 0 {
					t.Fatalf("the cancelled meeting got a %s", k)
				}
			}
		}
	}
	wantCounts(t, a, "Called off", map[string]int{})
}

func TestLateMeetingAndLateMember(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada")
	m := a.PutMeeting(t, meetingFields("added-late"))
	// Added 30 hours before it starts: invited at once; the reminder waits a day
	// after the invitation, so it does not follow it within minutes.
	if n := run(t, a, group.Invitation, m.Start.Add(-30*time.Hour)); n != 1 {
		t.Fatalf("late meeting: %d invitations, want 1", n)
	}
	if n := run(t, a, group.Reminder, m.Start.Add(-29*time.Hour)); n != 0 {
		t.Fatalf("a reminder followed the invitation within an hour")
	}
	// A member who joins after the invitations went out still gets one.
	a.AddMembers(t, "newbie")
	if n := run(t, a, group.Invitation, m.Start.Add(-20*time.Hour)); n != 1 {
		t.Fatalf("late member: %d invitations, want 1", n)
	}
	wantCounts(t, a, "invited", map[string]int{"ada": 1, "newbie": 1})
}

func TestBadRowSkippedOthersGoOn(t *testing.T) {
	a := apptest.New(t, nil)
	a.AddMembers(t, "ada")
	good := a.PutMeeting(t, meetingFields("good"))
	bad := group.Row{"meeting_id": {Type: "S", Text: "bad"}, "title": {Type: "S", Text: "Oops\r\nBcc: everyone@example.org"}, "starts_at": {Type: "S", Text: start}}
	if err := a.Store.PutScheduleRow(ctx, bad); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Runner.Run(ctx, group.Invitation, good.Start.AddDate(0, 0, -14))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Invalid) != 1 || rep.Invalid[0] != "bad" {
		t.Fatalf("invalid rows = %v, want [bad]", rep.Invalid)
	}
	wantCounts(t, a, "invited", map[string]int{"ada": 1})
	for _, e := range a.Inbox(t, a.Email("ada")) {
		if strings.Contains(e.Subject, "Oops") {
			t.Fatal("the bad row reached a member")
		}
	}
}

// An answer interrupted between its two writes (here: a No that reached the RSVP
// item but not the places) is put right by the next invitations run, and the
// member it promotes from the waitlist is told by the outbox's next sweep, once.
func TestInvitationsRunRepairsPlaces(t *testing.T) {
	a := apptest.New(t, nil)
	members := a.AddMembers(t, "ada", "ken", "bob")
	f := meetingFields("repair")
	f["capacity"] = "2"
	m := a.PutMeeting(t, f)
	at := m.Start.AddDate(0, 0, -10)
	run(t, a, group.Invitation, at)
	for _, who := range []string{"ada", "ken", "bob"} {
		if _, err := a.Store.Answer(ctx, m.ID, members[who].ID, group.Yes, 0, m.Capacity, group.SourceLink, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Store.SetRSVP(ctx, m.ID, members["ada"].ID, group.No, time.Now()); err != nil { // the crash
		t.Fatal(err)
	}
	if n := run(t, a, group.Invitation, at.Add(time.Hour)); n != 0 {
		t.Fatalf("the repair run sent %d invitations", n)
	}
	places, err := a.Store.Places(ctx, m.ID)
	if err != nil || places.Going != 2 || places.Waiting != 0 {
		t.Fatalf("places after the repair: %+v %v", places, err)
	}
	if got, _ := a.Store.RSVP(ctx, m.ID, members["bob"].ID); got.Place != group.PlaceGoing {
		t.Fatalf("bob was not promoted: %+v", got)
	}
	sweep := func() {
		t.Helper()
		if _, err := a.Runner.SendNotices(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, a, "a place opened up", map[string]int{}) // recorded, not sent by the run
	sweep()
	wantCounts(t, a, "a place opened up", map[string]int{"bob": 1})
	run(t, a, group.Invitation, at.Add(2*time.Hour))
	sweep()
	wantCounts(t, a, "a place opened up", map[string]int{"bob": 1})
}
