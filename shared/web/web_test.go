package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

var ctx = context.Background()

const start = "2031-03-13T18:30"

func meetingFields(id string, extra ...string) map[string]string {
	f := map[string]string{
		"meeting_id": id, "title": "Tracing Go services, for real", "starts_at": start,
		"venue": "Central Library", "venue_address": "801 SW 10th Ave, Portland", "speaker": "Selena",
		"pub_name": "The Lucky Lab", "pub_address": "915 SE Hawthorne Blvd",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f[extra[i]] = extra[i+1]
	}
	return f
}

// site is an app on fresh tables with its member pages on a test server; the
// links in its emails point at that server.
type site struct {
	*apptest.App
	srv *httptest.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	a := apptest.New(t, nil)
	srv := httptest.NewServer(a.Site.Handler())
	t.Cleanup(srv.Close)
	a.Site.BaseURL = srv.URL
	a.Runner.Links.BaseURL = srv.URL
	return &site{App: a, srv: srv}
}

type page struct {
	Status int
	Body   string
}

func (s *site) do(t *testing.T, method, link string, form url.Values) page {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	target := s.srv.URL + u.RequestURI()
	var res *http.Response
	if method == http.MethodGet {
		res, err = http.Get(target)
	} else {
		res, err = http.PostForm(target, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(b)}
}

func (p page) mustContain(t *testing.T, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(p.Body, w) {
			t.Errorf("page (status %d) lacks %q:\n%s", p.Status, w, p.Body)
		}
	}
}

// links of one member for one meeting, as their emails carry them.
func (s *site) links(m group.Meeting, member group.Member) (rsvp func(group.Answer) string, all map[string]string) {
	l := cycle.MemberLinks(s.Runner.Links, m, member, s.Site.Clock())
	rsvp = func(a group.Answer) string {
		return map[group.Answer]string{group.Yes: l.Yes, group.No: l.No, group.Maybe: l.Maybe}[a]
	}
	return rsvp, map[string]string{"rsvp": l.Yes, "pub": l.Pub, "unsubscribe": l.Unsubscribe, "ics": l.Calendar}
}

var linkRE = regexp.MustCompile(`https?://127\.0\.0\.1:\d+/[a-z./]+\?[^\s"<>)]+`)

// emailLink finds a link to path in the newest email to addr whose subject contains subject.
func (s *site) emailLink(t *testing.T, addr, subject, path string) string {
	t.Helper()
	inbox := s.Inbox(t, addr)
	for i := len(inbox) - 1; i >= 0; i-- {
		if !strings.Contains(inbox[i].Subject, subject) {
			continue
		}
		for _, l := range linkRE.FindAllString(inbox[i].Body.Text, -1) {
			if u, _ := url.Parse(l); u.Path == path {
				return l
			}
		}
		t.Fatalf("no %s link in %q to %s:\n%s", path, inbox[i].Subject, addr, inbox[i].Body.Text)
	}
	t.Fatalf("%s has no email with %q in the subject", addr, subject)
	return ""
}

func (s *site) count(t *testing.T, addr, subject string) int {
	t.Helper()
	n := 0
	for _, e := range s.Inbox(t, addr) {
		if strings.Contains(e.Subject, subject) {
			n++
		}
	}
	return n
}

// TestLinksThatMustNotRecord: scanners' GETs, and tampered, truncated, expired,
// other-member and other-action tokens, get the right status and change nothing.
func TestLinksThatMustNotRecord(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "ken")
	m := s.PutMeeting(t, meetingFields("links"))
	s.Site.Clock = func() time.Time { return m.Start.Add(-time.Hour) }
	rsvp, ada := s.links(m, ms["ada"])
	_, ken := s.links(m, ms["ken"])
	yes := rsvp(group.Yes)
	u, _ := url.Parse(yes)
	token := u.Query().Get("t")
	body, sig, _ := strings.Cut(token, ".")
	_, kenSig, _ := strings.Cut(mustToken(t, ken["rsvp"]), ".")
	expired := s.Runner.Links.URL("/rsvp", links.Claims{Member: ms["ada"].ID, Meeting: m.ID, Action: links.ActionRSVP, Expires: m.Start.Add(-2 * time.Hour)}, nil)
	withToken := func(path, tok string) string { return s.srv.URL + path + "?t=" + url.QueryEscape(tok) }

	tests := []struct {
		name, method, link string
		want               int
	}{
		{"scanner GET of rsvp", http.MethodGet, yes, http.StatusOK},
		{"scanner GET of pub", http.MethodGet, ada["pub"], http.StatusOK},
		{"scanner GET of unsubscribe", http.MethodGet, ada["unsubscribe"], http.StatusOK},
		{"no token", http.MethodPost, s.srv.URL + "/rsvp?answer=yes", http.StatusBadRequest},
		{"truncated token", http.MethodPost, withToken("/rsvp", token[:len(token)-5]), http.StatusBadRequest},
		{"token cut after one signature character", http.MethodPost, withToken("/rsvp", body+"."+sig[:1]), http.StatusBadRequest},
		{"token cut before the signature", http.MethodPost, withToken("/rsvp", body), http.StatusBadRequest},
		{"flipped signature character", http.MethodPost, withToken("/rsvp", body+"."+flip(sig)), http.StatusForbidden},
		{"ken's signature on ada's claims", http.MethodPost, withToken("/rsvp", body+"."+kenSig), http.StatusForbidden},
		{"garbage", http.MethodPost, withToken("/rsvp", "%%%.###"), http.StatusBadRequest},
		{"expired", http.MethodPost, expired, http.StatusGone},
		{"pub token on rsvp", http.MethodPost, withToken("/rsvp", mustToken(t, ada["pub"])), http.StatusForbidden},
		{"rsvp token on unsubscribe", http.MethodPost, withToken("/unsubscribe", token), http.StatusForbidden},
		{"rsvp token on pub", http.MethodPost, withToken("/pub", token), http.StatusForbidden},
		{"rsvp token on join confirm", http.MethodPost, withToken("/join/confirm", token), http.StatusForbidden},
		{"unknown key", http.MethodPost, withToken("/rsvp", otherKeyToken(t, ms["ada"].ID, m.ID)), http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.do(t, tt.method, tt.link, url.Values{"answer": {"yes"}, "coming": {"yes"}, "List-Unsubscribe": {"One-Click"}})
			if p.Status != tt.want {
				t.Fatalf("status %d, want %d:\n%s", p.Status, tt.want, p.Body)
			}
			if tt.want >= 400 {
				p.mustContain(t, "Nothing was recorded")
			}
			for _, id := range []string{ms["ada"].ID, ms["ken"].ID} {
				if _, err := s.Store.RSVP(ctx, m.ID, id); !errors.Is(err, dynamo.ErrNotFound) {
					t.Fatalf("an RSVP was recorded for %s (err %v)", id, err)
				}
				if _, err := s.Store.PubAnswer(ctx, m.ID, id); !errors.Is(err, dynamo.ErrNotFound) {
					t.Fatalf("a pub answer was recorded for %s (err %v)", id, err)
				}
				if mem, _ := s.Store.Member(ctx, id); mem.Status != group.MemberActive {
					t.Fatalf("%s's status changed to %s", id, mem.Status)
				}
			}
			if p, _ := s.Store.Places(ctx, m.ID); p.Going != 0 || p.Waiting != 0 {
				t.Fatalf("places changed: %+v", p)
			}
		})
	}
}

func mustToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("t")
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func otherKeyToken(t *testing.T, member, meeting string) string {
	t.Helper()
	other, err := links.NewSigner("old", []byte("a-key-nobody-has-a-key-nobody-has"))
	if err != nil {
		t.Fatal(err)
	}
	return other.Sign(links.Claims{Member: member, Meeting: meeting, Action: links.ActionRSVP, Expires: time.Now().Add(time.Hour)})
}

// TestRSVPConfirmationAndWaitlist: the confirmation page says what was recorded,
// how many are going, and offers the calendar links; a Yes beyond capacity is
// waitlisted and told so; when a place frees, the first in line is promoted and
// emailed at once; guests take places.
func TestRSVPConfirmationAndWaitlist(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "ken", "grace")
	m := s.PutMeeting(t, meetingFields("full", "capacity", "3", "guests_max", "2"))
	if m.GuestsMax != 2 {
		t.Fatalf("guests_max not parsed: %+v", m)
	}
	ada, _ := s.links(m, ms["ada"])
	ken, _ := s.links(m, ms["ken"])
	grace, _ := s.links(m, ms["grace"])

	p := s.do(t, http.MethodGet, ada(group.Yes), nil)
	p.mustContain(t, "are you coming?", `value="yes" checked`, "0</strong> people are going", "3 places left of 3", `<select id="guests" name="guests">`)

	p = s.do(t, http.MethodPost, ada(group.Yes), url.Values{"answer": {"yes"}, "guests": {"1"}})
	if p.Status != http.StatusOK {
		t.Fatalf("POST yes: %d", p.Status)
	}
	p.mustContain(t, "You're going with 1 guest", "2</strong> people are going", "1 place left of 3",
		"https://calendar.google.com/calendar/render?", "https://outlook.live.com/calendar/0/deeplink/compose?", "/invite.ics?t=", "Change my answer")
	ics := s.do(t, http.MethodGet, icsLink(t, p.Body), nil)
	if ics.Status != http.StatusOK || !strings.Contains(ics.Body, "BEGIN:VCALENDAR") {
		t.Fatalf("the page's .ics link: %d %.80q", ics.Status, ics.Body)
	}

	// Too many guests for the meeting is refused outright.
	if p := s.do(t, http.MethodPost, ken(group.Yes), url.Values{"answer": {"yes"}, "guests": {"3"}}); p.Status != http.StatusBadRequest {
		t.Fatalf("3 guests when 2 are allowed: %d", p.Status)
	}
	// Ken with 1 guest does not fit (1 place left): waitlisted, number 1.
	p = s.do(t, http.MethodPost, ken(group.Yes), url.Values{"answer": {"yes"}, "guests": {"1"}})
	p.mustContain(t, "on the waitlist: number 1", "<strong>full</strong>")
	if strings.Contains(p.Body, "invite.ics") {
		t.Error("the waitlist page offers to add the meeting to the calendar")
	}
	// Grace alone would fit, but Ken is first in line: she waits too.
	p = s.do(t, http.MethodPost, grace(group.Yes), url.Values{"answer": {"yes"}})
	p.mustContain(t, "on the waitlist: number 2")

	// Ada says No: 3 places free; Ken and his guest move up, then Grace, in order.
	p = s.do(t, http.MethodPost, ada(group.No), url.Values{"answer": {"no"}})
	p.mustContain(t, "We recorded: No, not this time", "3</strong> people are going")
	for _, who := range []string{"ken", "grace"} {
		if n := s.count(t, s.Email(who), "place opened up"); n != 1 {
			t.Fatalf("%s got %d promotion emails, want 1", who, n)
		}
	}
	promo := s.Inbox(t, s.Email("ken"))
	last := promo[len(promo)-1]
	if !strings.Contains(last.Body.Text, "with 1 guest") || !strings.Contains(last.Body.HTML, "Change my answer") {
		t.Errorf("promotion email:\n%s", last.Body.Text)
	}
	// The change link in the promotion email works and pre-selects No.
	change := s.emailLink(t, s.Email("ken"), "place opened up", "/rsvp")
	s.do(t, http.MethodGet, change, nil).mustContain(t, `value="no" checked`, "you have a place")

	// Ken drops his guest: one place frees, and nobody is waiting for it.
	s.do(t, http.MethodPost, ken(group.Yes), url.Values{"answer": {"yes"}, "guests": {"0"}}).mustContain(t, "You're going.")
	if n := s.count(t, s.Email("grace"), "place opened up"); n != 1 {
		t.Fatalf("grace got %d promotion emails, want 1", n)
	}
	places, _ := s.Store.Places(ctx, m.ID)
	if places.Going != 2 || places.Waiting != 0 {
		t.Fatalf("places: %+v", places)
	}
	// The public page counts, with no names.
	pg := s.do(t, http.MethodGet, s.srv.URL+"/m/"+m.ID, nil)
	pg.mustContain(t, "2</strong> people are going", "1 place left of 3",
		`href="webcal://`+strings.TrimPrefix(s.srv.URL, "http://")+`/calendar.ics"`)
	for _, name := range []string{"Ada", "Ken", "Grace", "ada@", "ken@"} {
		if strings.Contains(pg.Body, name) {
			t.Errorf("the public page names %q", name)
		}
	}
}

var icsRE = regexp.MustCompile(`href="([^"]*/invite\.ics\?t=[^"]+)"`)

func icsLink(t *testing.T, body string) string {
	t.Helper()
	m := icsRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no .ics link on the page")
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// TestPubHeadcount: the pub page records attendance and shows the headcount.
func TestPubHeadcount(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "ken")
	m := s.PutMeeting(t, meetingFields("pub"))
	s.Site.Clock = func() time.Time { return m.End.Add(10 * time.Minute) }
	_, ada := s.links(m, ms["ada"])
	_, ken := s.links(m, ms["ken"])
	s.do(t, http.MethodGet, ada["pub"], nil).mustContain(t, "0</strong> people are coming to the pub")
	s.do(t, http.MethodPost, ada["pub"], url.Values{"coming": {"yes"}}).mustContain(t, "counted you in", "1</strong> person is coming")
	s.do(t, http.MethodPost, ken["pub"], url.Values{"coming": {"yes"}}).mustContain(t, "2</strong> people are coming")
	s.do(t, http.MethodPost, ada["pub"], url.Values{"coming": {"no"}}).mustContain(t, "not coming to the pub", "1</strong> person is coming")
}

// TestUnsubscribeAndPreferences goes through the cycle: a member who stops teasers
// keeps invitations; the one-click POST stops everything; re-subscribing works.
func TestUnsubscribeAndPreferences(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "ken")
	m := s.PutMeeting(t, meetingFields("prefs"))
	run := func(k group.Kind, at time.Time) {
		t.Helper()
		if _, err := s.Runner.Run(ctx, k, at); err != nil {
			t.Fatal(err)
		}
	}
	run(group.Invitation, m.Start.AddDate(0, 0, -14))
	unsub := s.emailLink(t, s.Email("ada"), "invited", "/unsubscribe")
	p := s.do(t, http.MethodGet, unsub, nil)
	p.mustContain(t, "Unsubscribe me from everything", `name="keep" value="teaser" checked`)
	// Ada keeps everything but teasers.
	p = s.do(t, http.MethodPost, unsub, url.Values{"action": {"preferences"}, "keep": {"invitation", "reminder", "pub"}})
	p.mustContain(t, "only the emails ticked", `name="keep" value="invitation" checked`)
	if strings.Contains(p.Body, `value="teaser" checked`) {
		t.Fatal("teasers still ticked")
	}
	for _, id := range []string{ms["ada"].ID, ms["ken"].ID} {
		if _, err := s.Store.Answer(ctx, m.ID, id, group.Yes, 0, 0, group.SourceLink, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	run(group.Teaser, m.Start.Add(-24*time.Hour))
	if n := s.count(t, s.Email("ada"), "icebreaker"); n != 0 {
		t.Fatalf("ada muted teasers but got %d", n)
	}
	if n := s.count(t, s.Email("ken"), "icebreaker"); n != 1 {
		t.Fatalf("ken got %d teasers, want 1", n)
	}
	// Ken unsubscribes with the RFC 8058 one-click POST: no cookies, just the body.
	kenUnsub := s.emailLink(t, s.Email("ken"), "invited", "/unsubscribe")
	res, err := http.Post(kenUnsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("one-click: %d", res.StatusCode)
	}
	if mem, _ := s.Store.Member(ctx, ms["ken"].ID); mem.Status != group.MemberUnsubscribed {
		t.Fatalf("ken is %s after one-click", mem.Status)
	}
	m2 := s.PutMeeting(t, meetingFields("prefs-2", "starts_at", "2031-04-10T18:30"))
	run(group.Invitation, m2.Start.AddDate(0, 0, -14))
	run(group.Pub, m.End.Add(time.Minute))
	if n := s.count(t, s.Email("ken"), m2.Title); n != 1 { // only the first invitation; same title
		t.Fatalf("unsubscribed ken got more email (%d with the title)", n)
	}
	if n := s.count(t, s.Email("ken"), "After-party"); n != 0 {
		t.Fatalf("unsubscribed ken got the pub email")
	}
	if n := s.count(t, s.Email("ada"), "After-party"); n != 1 {
		t.Fatalf("ada got %d pub emails, want 1", n)
	}
	// Ken comes back.
	s.do(t, http.MethodPost, kenUnsub, url.Values{"action": {"resubscribe"}}).mustContain(t, "Welcome back")
	m3 := s.PutMeeting(t, meetingFields("prefs-3", "starts_at", "2031-05-08T18:30", "title", "Back again"))
	run(group.Invitation, m3.Start.AddDate(0, 0, -14))
	if n := s.count(t, s.Email("ken"), "Back again"); n != 1 {
		t.Fatalf("re-subscribed ken got %d invitations, want 1", n)
	}
}

// TestJoin: double opt-in. The form sends one confirmation per address per hour;
// the member is active only after the POST confirm, then gets a welcome and the
// next invitation.
func TestJoin(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	addr := s.Email("newbie")
	s.do(t, http.MethodGet, s.srv.URL+"/join", nil).mustContain(t, `<label for="email">`, `<label for="name">`)
	for _, bad := range []url.Values{
		{"name": {"Nina"}, "email": {"not an address"}},
		{"name": {"Nina"}, "email": {"Nina <" + addr + ">"}},
		{"name": {""}, "email": {addr}},
		{"name": {"Nina\x00\x1b[31m"}, "email": {addr}},
		{"name": {"Nina"}, "email": {addr + "\r\nBcc: all@example.org"}},
	} {
		if p := s.do(t, http.MethodPost, s.srv.URL+"/join", bad); p.Status != http.StatusBadRequest {
			t.Fatalf("join %v: %d", bad, p.Status)
		}
	}
	form := url.Values{"name": {"Nina Newbie"}, "email": {addr}}
	s.do(t, http.MethodPost, s.srv.URL+"/join", form).mustContain(t, "Check your inbox")
	id := group.MemberID(addr)
	if mem, err := s.Store.Member(ctx, id); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("after the form: %+v %v; want no member yet (a pending request is kept apart)", mem, err)
	}
	if mem, err := s.Store.JoinRequest(ctx, id, now); err != nil || mem.Status != dynamo.MemberPending || mem.JoinName != "Nina Newbie" {
		t.Fatalf("after the form: %+v %v; want a pending request", mem, err)
	}
	// Again within the hour: the same page, no second email.
	now = now.Add(30 * time.Minute)
	s.do(t, http.MethodPost, s.srv.URL+"/join", form).mustContain(t, "Check your inbox")
	if n := s.count(t, addr, "Confirm"); n != 1 {
		t.Fatalf("%d confirmation emails within the hour, want 1", n)
	}
	now = now.Add(31 * time.Minute)
	s.do(t, http.MethodPost, s.srv.URL+"/join", form)
	if n := s.count(t, addr, "Confirm"); n != 2 {
		t.Fatalf("%d confirmation emails after an hour, want 2", n)
	}
	confirm := s.emailLink(t, addr, "Confirm", "/join/confirm")
	s.do(t, http.MethodGet, confirm, nil).mustContain(t, "Confirm and join")
	if mem, err := s.Store.Member(ctx, id); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("a GET of the confirm link made the member %+v", mem)
	}
	m := s.PutMeeting(t, meetingFields("join"))
	if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14)); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, addr, "invited"); n != 0 {
		t.Fatal("a pending member got an invitation")
	}
	s.do(t, http.MethodPost, confirm, nil).mustContain(t, "Welcome, Nina!")
	s.do(t, http.MethodPost, confirm, nil).mustContain(t, "Welcome back")
	if n := s.count(t, addr, "Welcome"); n != 1 {
		t.Fatalf("%d welcome emails, want 1", n)
	}
	if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.Add(-13*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, addr, "invited"); n != 1 {
		t.Fatalf("the new member got %d invitations, want 1", n)
	}
	// An expired confirmation link records nothing.
	now = now.Add(dynamoWeek)
	if p := s.do(t, http.MethodPost, confirm, nil); p.Status != http.StatusGone {
		t.Fatalf("an expired confirm link: %d", p.Status)
	}
}

const dynamoWeek = 7 * 24 * time.Hour

// TestLoadRSVPs: 1,000 concurrent RSVP POSTs from distinct members, then 100
// alternating answers from one member, end in exactly the state each answer asks
// for, as DynamoDB holds it: every answer recorded once, capacity filled exactly,
// the rest waitlisted, the counter equal to the RSVP items.
func TestLoadRSVPs(t *testing.T) {
	s := newSite(t)
	const n, capacity = 1000, 300
	m := s.PutMeeting(t, meetingFields("load", "capacity", "300"))
	members := make([]group.Member, n)
	answers := make([]group.Answer, n)
	parallel(t, n, 16, func(i int) error {
		members[i] = group.Member{Email: s.Email(fmt.Sprintf("load%04d", i)), Name: fmt.Sprintf("Load %d", i), JoinedAt: time.Now()}
		members[i].ID = group.MemberID(members[i].Email)
		answers[i] = []group.Answer{group.Yes, group.Yes, group.Maybe, group.No}[i%4]
		_, err := s.Store.AddMember(ctx, members[i])
		return err
	})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}
	post := func(link string, a group.Answer) error {
		res, err := client.PostForm(link, url.Values{"answer": {string(a)}})
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %d", a, res.StatusCode)
		}
		return nil
	}
	began := time.Now()
	parallel(t, n, n, func(i int) error {
		rsvp, _ := s.links(m, members[i])
		return post(rsvp(answers[i]), answers[i])
	})
	t.Logf("%d concurrent RSVP POSTs in %v", n, time.Since(began).Round(time.Millisecond))

	flipper := members[0]
	rsvp, _ := s.links(m, flipper)
	began = time.Now()
	parallel(t, 100, 10, func(i int) error {
		a := []group.Answer{group.No, group.Yes}[i%2]
		return post(rsvp(a), a)
	})
	t.Logf("100 alternating answers from one member in %v", time.Since(began).Round(time.Millisecond))

	// Compare with DynamoDB.
	got, err := s.Store.RSVPsOf(ctx, m.ID, ids(members))
	if err != nil {
		t.Fatal(err)
	}
	places, err := s.Store.Places(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	going, waitlisted, seats := 0, 0, 0
	for i, mem := range members {
		r, ok := got[mem.ID]
		switch {
		case !ok:
			t.Fatalf("%s's answer is missing", mem.ID)
		case i > 0 && (r.Answer != answers[i] || r.Changes != 1):
			t.Fatalf("%s: %s after %d changes, want %s once", mem.ID, r.Answer, r.Changes, answers[i])
		case i == 0 && r.Changes != 101:
			t.Fatalf("the flipper's answer changed %d times, want 101", r.Changes)
		}
		switch r.Place {
		case group.PlaceGoing:
			going++
			seats += r.Seats
			if places.Seats[mem.ID] != r.Seats || r.Answer != group.Yes {
				t.Fatalf("%s: RSVP says going (%s), COUNT item says %d", mem.ID, r.Answer, places.Seats[mem.ID])
			}
		case group.PlaceWaitlisted:
			waitlisted++
			if _, ok := places.Queue[mem.ID]; !ok || r.Answer != group.Yes {
				t.Fatalf("%s: RSVP says waitlisted (%s), COUNT item does not", mem.ID, r.Answer)
			}
		default:
			if r.Answer == group.Yes {
				t.Fatalf("%s said Yes and has no place", mem.ID)
			}
		}
	}
	yes := n / 2 // i%4 is 0 or 1; the flipper's last answer may be either
	if got[flipper.ID].Answer == group.No {
		yes--
	}
	if going != capacity || seats != capacity || places.Going != capacity || waitlisted != yes-capacity || places.Waiting != waitlisted {
		t.Fatalf("going %d (%d places), waitlisted %d; COUNT item going %d waiting %d; want %d going and %d waitlisted",
			going, seats, waitlisted, places.Going, places.Waiting, capacity, yes-capacity)
	}
}

func ids(ms []group.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// parallel runs f(0..n-1) on at most width goroutines and fails on the first error.
func parallel(t *testing.T, n, width int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, width)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestKeyRotation: after the secret is rotated, a warm site that meets a link
// signed with the new key reloads its keys once (not per request) and still
// accepts links signed with the previous key; a key it cannot load stays refused.
func TestKeyRotation(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "ken")
	m := s.PutMeeting(t, meetingFields("rotate"))
	oldLinks, _ := s.links(m, ms["ada"])
	oldYes := oldLinks(group.Yes)

	rotated, err := links.NewSigner("k2", []byte("the-next-key-the-next-key-the-next"))
	if err != nil {
		t.Fatal(err)
	}
	rotated.AcceptUntil("local", []byte("test-secret-test-secret-test-secret"), time.Now().Add(cycle.UnsubscribeLinkLife))
	newYes := links.Builder{BaseURL: s.srv.URL, Signer: rotated}.URL("/rsvp",
		links.Claims{Member: ms["ken"].ID, Meeting: m.ID, Action: links.ActionRSVP, Expires: m.End}, url.Values{"answer": {"yes"}})

	if p := s.do(t, http.MethodPost, newYes, url.Values{"answer": {"yes"}}); p.Status != http.StatusForbidden {
		t.Fatalf("a new-key link on a site that cannot reload: %d, want 403", p.Status)
	}
	var loads atomic.Int32
	s.Site.Keys = func(context.Context) (*links.Signer, error) { loads.Add(1); return rotated, nil }
	for _, link := range []string{newYes, newYes, oldYes} {
		if p := s.do(t, http.MethodPost, link, url.Values{"answer": {"yes"}}); p.Status != http.StatusOK {
			t.Fatalf("after rotation: %d\n%s", p.Status, p.Body)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("keys loaded %d times, want once", n)
	}
	unknown := links.Builder{BaseURL: s.srv.URL, Signer: mustSigner(t, "k3")}.URL("/rsvp",
		links.Claims{Member: ms["ken"].ID, Meeting: m.ID, Action: links.ActionRSVP, Expires: m.End}, nil)
	if p := s.do(t, http.MethodPost, unknown, url.Values{"answer": {"no"}}); p.Status != http.StatusForbidden {
		t.Fatalf("an unknown key right after a reload: %d, want 403", p.Status)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("keys reloaded again within a minute (%d loads)", n)
	}
	if r, _ := s.Store.RSVP(ctx, m.ID, ms["ken"].ID); r.Answer != group.Yes {
		t.Fatalf("ken's answer: %+v", r)
	}
}

func mustSigner(t *testing.T, kid string) *links.Signer {
	t.Helper()
	s, err := links.NewSigner(kid, []byte(kid+"-some-other-key-some-other-key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLambdaLinksUseFunctionURL: behind the Lambda function URL the join email's
// links use the domain AWS puts in the request context, never the client's Host
// header (which would let anyone send a confirmation link to their own site).
//
// The confirmation is sent by the outbox, whose links are built from
// AFTERPARTY_BASE_URL: template.yaml sets it to the web function's URL.
func TestLambdaLinksUseFunctionURL(t *testing.T) {
	s := newSite(t)
	addr := s.Email("lambda")
	const domain = "abcdefghijklmnop.lambda-url.us-east-1.on.aws"
	s.Runner.Links.BaseURL = "https://" + domain
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/join",
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "host": "evil.example"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: domain, RequestID: "r1", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/join", Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"},
		},
		Body: url.Values{"name": {"Lam Da"}, "email": {addr}}.Encode(),
	}
	res, err := httpadapter.NewV2(s.Site.Handler()).ProxyWithContext(ctx, ev)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("join through the Lambda adapter: %d %v", res.StatusCode, err)
	}
	inbox := s.Inbox(t, addr)
	if len(inbox) != 1 {
		t.Fatalf("%d emails, want the confirmation", len(inbox))
	}
	if !strings.Contains(inbox[0].Body.Text, "https://"+domain+"/join/confirm?t=") || strings.Contains(inbox[0].Body.Text, "evil.example") {
		t.Fatalf("the confirmation's links do not use the function URL:\n%s", inbox[0].Body.Text)
	}
}

// logBuffer collects a site's log lines (JSON), for tests that read them.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (s *site) captureLog() *logBuffer {
	l := &logBuffer{}
	s.Site.Log = slog.New(slog.NewJSONHandler(l, nil))
	return l
}

// TestMeetingPageClientMistakes: a meeting id no meeting can have (too long for
// DynamoDB's key, or refused by the schedule's rule) is the client's mistake: 404,
// no ERROR log, never the whole id in the log. A row with problems is not an
// outage either.
func TestMeetingPageClientMistakes(t *testing.T) {
	s := newSite(t)
	s.PutMeeting(t, meetingFields("fine"))
	if err := s.Store.PutScheduleRow(ctx, apptest.Row(map[string]string{"meeting_id": "broken", "title": "No start, no venue"})); err != nil {
		t.Fatal(err)
	}
	log := s.captureLog()
	long := strings.Repeat("a", 2049)
	tests := []struct {
		name, id string
		want     int
	}{
		{"2,049 characters", long, http.StatusNotFound},
		{"65 characters", strings.Repeat("b", 65), http.StatusNotFound},
		{"a character ids cannot hold", "bad%22quote", http.StatusNotFound},
		{"no such meeting", "2031-01-01", http.StatusNotFound},
		{"a row with problems", "broken", http.StatusNotFound},
		{"a meeting", "fine", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.do(t, http.MethodGet, s.srv.URL+"/m/"+tt.id, nil)
			if p.Status != tt.want {
				t.Fatalf("GET /m/%.20s...: %d, want %d:\n%s", tt.id, p.Status, tt.want, p.Body)
			}
		})
	}
	if l := log.String(); strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, long[:100]) {
		t.Fatalf("client mistakes logged as errors, or a whole id logged:\n%.2000s", l)
	}
}

// TestOversizedPost: a POST body far beyond any form's (1 MB) gets 413 and a page
// that says so, not the "some mail programs split long links" page; nothing is
// recorded.
func TestOversizedPost(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada")
	m := s.PutMeeting(t, meetingFields("big"))
	rsvp, _ := s.links(m, ms["ada"])
	big := url.Values{"answer": {"yes"}, "padding": {strings.Repeat("x", 1<<20)}}
	for _, link := range []string{rsvp(group.Yes), s.srv.URL + "/join"} {
		p := s.do(t, http.MethodPost, link, big)
		if p.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST %s with 1 MB: %d, want 413:\n%s", link, p.Status, p.Body)
		}
		p.mustContain(t, "too large", "Nothing was recorded")
		if strings.Contains(p.Body, "split long links") {
			t.Fatalf("a 1 MB POST was told its link was split:\n%s", p.Body)
		}
	}
	if _, err := s.Store.RSVP(ctx, m.ID, ms["ada"].ID); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("a 1 MB POST recorded an RSVP (err %v)", err)
	}
	// A form of ordinary size still works.
	if p := s.do(t, http.MethodPost, rsvp(group.Yes), url.Values{"answer": {"yes"}}); p.Status != http.StatusOK {
		t.Fatalf("ordinary POST: %d", p.Status)
	}
}

// TestSuppressedStaysSuppressed: an address suppressed after a bounce or a
// complaint cannot be made active by a link or by /join: the join form shows the
// same page and sends nothing, the confirmation and unsubscribe links change
// nothing. Only an organizer can (`afterparty members reactivate`).
func TestSuppressedStaysSuppressed(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	ms := s.AddMembers(t, "ada")
	m := s.PutMeeting(t, meetingFields("suppressed"))
	_, ada := s.links(m, ms["ada"])
	nina := s.Email("nina")
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Nina"}, "email": {nina}}).mustContain(t, "Check your inbox")
	confirm := s.emailLink(t, nina, "Confirm", "/join/confirm")
	for _, id := range []string{ms["ada"].ID, group.MemberID(nina)} {
		if err := s.Store.Suppress(ctx, id, "hard bounce", now); err != nil {
			t.Fatal(err)
		}
	}
	stillSuppressed := func(t *testing.T) {
		t.Helper()
		for _, id := range []string{ms["ada"].ID, group.MemberID(nina)} {
			if mem, err := s.Store.Member(ctx, id); err != nil || mem.Status != group.MemberSuppressed {
				t.Fatalf("member %s: %+v, %v; want suppressed", id, mem, err)
			}
		}
	}
	now = now.Add(2 * time.Hour) // past the one-confirmation-an-hour limit
	t.Run("join form", func(t *testing.T) {
		for _, addr := range []string{nina, s.Email("ada")} {
			s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Someone"}, "email": {addr}}).mustContain(t, "Check your inbox")
		}
		if n := s.count(t, nina, "Confirm"); n != 1 {
			t.Fatalf("%d confirmations to a suppressed address, want only the one before", n)
		}
		if n := s.count(t, s.Email("ada"), "Confirm"); n != 0 {
			t.Fatalf("a confirmation went to suppressed ada")
		}
		stillSuppressed(t)
	})
	t.Run("join confirmation link", func(t *testing.T) {
		s.do(t, http.MethodGet, confirm, nil).mustContain(t, "stopped sending")
		if p := s.do(t, http.MethodPost, confirm, nil); p.Status != http.StatusConflict {
			t.Fatalf("confirm: %d, want 409:\n%s", p.Status, p.Body)
		}
		if n := s.count(t, nina, "Welcome"); n != 0 {
			t.Fatal("a suppressed address got a welcome")
		}
		stillSuppressed(t)
	})
	t.Run("unsubscribe link", func(t *testing.T) {
		p := s.do(t, http.MethodGet, ada["unsubscribe"], nil)
		p.mustContain(t, "stopped sending", "Only the organizers")
		if strings.Contains(p.Body, "Subscribe me again") {
			t.Fatal("the page offers a suppressed member to subscribe again")
		}
		for _, form := range []url.Values{{"action": {"resubscribe"}}, {"action": {"preferences"}, "keep": {"invitation"}}} {
			if p := s.do(t, http.MethodPost, ada["unsubscribe"], form); p.Status != http.StatusConflict {
				t.Fatalf("%v: %d, want 409:\n%s", form, p.Status, p.Body)
			}
		}
		if p := s.do(t, http.MethodPost, ada["unsubscribe"], url.Values{"List-Unsubscribe": {"One-Click"}}); p.Status != http.StatusOK {
			t.Fatalf("one-click: %d", p.Status)
		}
		stillSuppressed(t)
	})
	if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14)); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, s.Email("ada"), "invited"); n != 0 {
		t.Fatal("suppressed ada was invited")
	}
}

// TestJoinKeepsTheConfirmedName: the name recorded is the one sent with the
// request whose confirmation is pressed, not the first name anyone gave for the
// address; the confirmation page says which name it will record.
func TestJoinKeepsTheConfirmedName(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	addr := s.Email("nina")
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Stinky McStinkface"}, "email": {addr}}).mustContain(t, "Check your inbox")
	now = now.Add(61 * time.Minute)
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Nina Real"}, "email": {addr}}).mustContain(t, "Check your inbox")
	confirm := s.emailLink(t, addr, "Confirm", "/join/confirm")
	s.do(t, http.MethodGet, confirm, nil).mustContain(t, "Nina Real")
	s.do(t, http.MethodPost, confirm, nil).mustContain(t, "Welcome, Nina!")
	if m, err := s.Store.Member(ctx, group.MemberID(addr)); err != nil || m.Name != "Nina Real" {
		t.Fatalf("after confirming: %+v %v; want the name Nina Real", m, err)
	}
	// An existing member renamed by a stranger's request only if they confirm it.
	ada := s.AddMembers(t, "ada")["ada"]
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Not Ada"}, "email": {s.Email("ada")}})
	if m, _ := s.Store.Member(ctx, ada.ID); m.Name != ada.Name {
		t.Fatalf("a join request renamed %q to %q before any confirmation", ada.Name, m.Name)
	}
	// An organizer's rename (`members rename`) wins over a request pending then.
	if err := s.Store.Rename(ctx, ada.ID, "Ada Lovelace", now); err != nil {
		t.Fatal(err)
	}
	s.do(t, http.MethodPost, s.emailLink(t, s.Email("ada"), "Confirm", "/join/confirm"), nil)
	if m, _ := s.Store.Member(ctx, ada.ID); m.Name != "Ada Lovelace" {
		t.Fatalf("confirming a request made before the rename set the name %q", m.Name)
	}
}

// Inbox is every email to addr, after one sweep of the outbox: the pages record
// their emails (promotion, join confirmation, welcome) and the outbox sends them,
// as the outbox function does within seconds on AWS.
func (s *site) Inbox(t *testing.T, addr string) []localstack.Email {
	t.Helper()
	s.sweep(t)
	return s.App.Inbox(t, addr)
}

// Counts is apptest's Counts after one sweep of the outbox.
func (s *site) Counts(t *testing.T, subjectContains string) map[string]int {
	t.Helper()
	s.sweep(t)
	return s.App.Counts(t, subjectContains)
}

func (s *site) sweep(t *testing.T) {
	t.Helper()
	if _, err := s.Runner.SendNotices(context.Background()); err != nil {
		t.Fatalf("outbox sweep: %v", err)
	}
}
