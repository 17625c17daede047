package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// metMeeting is a held meeting: the named members said Yes (pub: came to the pub
// only), the connections run sent its emails, and the site's clock is the morning
// after. It returns each member's /met link, taken from their email.
func metMeeting(t *testing.T, s *site, id string, yes, pub []string, others ...string) (group.Meeting, map[string]group.Member, map[string]string, time.Time) {
	t.Helper()
	ms := s.AddMembers(t, append(append(append([]string{}, yes...), pub...), others...)...)
	m := s.PutMeeting(t, meetingFields(id))
	for _, who := range yes {
		if _, err := s.Store.SetRSVP(ctx, m.ID, ms[who].ID, group.Yes, m.Start.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range pub {
		if err := s.Store.SetPubAnswer(ctx, m.ID, ms[who].ID, true, m.End); err != nil {
			t.Fatal(err)
		}
	}
	at := s.Config.Leads.ConnectionsOpen(m).Add(time.Minute)
	s.Site.Clock = func() time.Time { return at }
	if _, err := s.Runner.Run(ctx, group.Connections, at); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, who := range append(append([]string{}, yes...), pub...) {
		out[who] = s.emailLink(t, s.Email(who), "Who did you meet", "/met")
	}
	return m, ms, out, at
}

func (s *site) metPost(t *testing.T, link string, form url.Values) page {
	t.Helper()
	u, _ := url.Parse(link)
	form.Set("t", u.Query().Get("t"))
	return s.do(t, http.MethodPost, link, form)
}

func (s *site) list(t *testing.T, link, line string) {
	t.Helper()
	if p := s.metPost(t, link, url.Values{"action": {"list"}, "line": {line}}); p.Status != 200 {
		t.Fatalf("list: %d %s", p.Status, p.Body)
	}
}

func (s *site) introduce(t *testing.T, at time.Time) {
	t.Helper()
	if _, err := s.Runner.Introduce(ctx, at); err != nil {
		t.Fatal(err)
	}
}

const introSubject = "you both want to stay in touch"

func TestMetConnectionsEmailGoesToThoseWhoWereThere(t *testing.T) {
	s := newSite(t)
	ms := s.AddMembers(t, "ada", "grace", "ken", "linus", "muted", "gone")
	m := s.PutMeeting(t, meetingFields("met-who"))
	for who, a := range map[string]group.Answer{"ada": group.Yes, "grace": group.Yes, "linus": group.No, "muted": group.Yes, "gone": group.Yes} {
		if _, err := s.Store.SetRSVP(ctx, m.ID, ms[who].ID, a, m.Start.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"ada", "ken"} { // ada: Yes and pub, one email
		if err := s.Store.SetPubAnswer(ctx, m.ID, ms[who].ID, true, m.End); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store.SetMuted(ctx, ms["muted"].ID, []group.Kind{group.Connections}, m.End); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.SetMemberStatus(ctx, ms["gone"].ID, group.MemberUnsubscribed, m.End); err != nil {
		t.Fatal(err)
	}
	open := s.Config.Leads.ConnectionsOpen(m)
	if want := time.Date(2031, 3, 14, 10, 0, 0, 0, m.Location); !open.Equal(want) {
		t.Errorf("connections due %v, want 10:00 the next day %v", open, want)
	}
	for _, at := range []time.Time{open.Add(-time.Minute), open.Add(group.ConnectionsSendFor)} {
		if _, err := s.Runner.Run(ctx, group.Connections, at); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Counts(t, "Who did you meet"); len(got) != 0 {
		t.Fatalf("connections emails outside their window: %v", got)
	}
	for range 2 {
		if _, err := s.Runner.Run(ctx, group.Connections, open.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Counts(t, "Who did you meet")
	if len(got) != 3 || got["ada"] != 1 || got["grace"] != 1 || got["ken"] != 1 {
		t.Fatalf("connections emails %v, want one each to ada, grace (Yes) and ken (pub)", got)
	}
}

func TestMetMutualTicksIntroduceOnce(t *testing.T) {
	s := newSite(t)
	m, ms, link, at := metMeeting(t, s, "met-mutual", []string{"ada", "grace"}, []string{"ken"})
	s.list(t, link["ada"], "ask me about <sourdough> & Kafka")
	s.list(t, link["grace"], "")
	s.list(t, link["ken"], "")

	// What each page shows: names and lines, never an address, escaped.
	p := s.do(t, http.MethodGet, link["ada"], nil)
	p.mustContain(t, "Grace T.", "Ken T.")
	if strings.Contains(p.Body, s.Domain) || strings.Contains(p.Body, "Ada T.") {
		t.Errorf("ada's page shows an address or ada herself:\n%s", p.Body)
	}
	s.do(t, http.MethodGet, link["grace"], nil).mustContain(t, "ask me about &lt;sourdough&gt; &amp; Kafka")

	// Both tick each other at the same moment, from 50 clients.
	var wg sync.WaitGroup
	for i := range 50 {
		who, other := "ada", "grace"
		if i%2 == 1 {
			who, other = "grace", "ada"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.metPost(t, link[who], url.Values{"action": {"ticks"}, "tick": {ms[other].ID}})
		}()
	}
	wg.Wait()
	// ken ticks ada: one-sided, nothing is sent about it.
	s.metPost(t, link["ken"], url.Values{"action": {"ticks"}, "tick": {ms["ada"].ID}})
	if n := s.Counts(t, introSubject); len(n) != 0 {
		t.Fatalf("introductions went out before the run: %v", n)
	}
	s.introduce(t, at)
	s.introduce(t, at.Add(15*time.Minute)) // every run after sends nothing more
	if got := s.Counts(t, introSubject); len(got) != 2 || got["ada"] != 1 || got["grace"] != 1 {
		t.Fatalf("introductions %v, want exactly one each to ada and grace", got)
	}
	intro := s.Inbox(t, s.Email("ada"))
	var body string
	for _, e := range intro {
		if strings.Contains(e.Subject, introSubject) {
			body = e.Body.Text
		}
	}
	for _, want := range []string{s.Email("grace"), s.Email("ada"), "ask me about <sourdough> & Kafka"} {
		if !strings.Contains(body, want) {
			t.Errorf("ada's introduction lacks %q:\n%s", want, body)
		}
	}
	counts, err := s.Store.ConnectionCounts(ctx, m.ID)
	if err != nil || counts != (group.ConnectionCounts{Listed: 3, Ticks: 3, Introductions: 1}) {
		t.Errorf("counts %+v %v, want 3 listed, 3 ticks, 1 introduction", counts, err)
	}
}

func TestMetWithdrawalBeforeTheOtherTicksSendsNothing(t *testing.T) {
	s := newSite(t)
	_, ms, link, at := metMeeting(t, s, "met-withdraw", []string{"ada", "grace"}, nil)
	s.list(t, link["ada"], "")
	s.list(t, link["grace"], "")
	s.metPost(t, link["ada"], url.Values{"action": {"ticks"}, "tick": {ms["grace"].ID}})
	if p := s.metPost(t, link["ada"], url.Values{"action": {"unlist"}}); p.Status != 200 {
		t.Fatalf("withdraw: %d", p.Status)
	}
	if p := s.do(t, http.MethodGet, link["grace"], nil); strings.Contains(p.Body, "Ada T.") {
		t.Errorf("ada withdrew and still shows on grace's page")
	}
	// grace ticks ada anyway (a stale page): refused, and nothing is introduced.
	s.metPost(t, link["grace"], url.Values{"action": {"ticks"}, "tick": {ms["ada"].ID}})
	s.introduce(t, at)
	if got := s.Counts(t, introSubject); len(got) != 0 {
		t.Fatalf("introductions after a withdrawal: %v", got)
	}
}

func TestMetBlockHidesBothWaysAndIntroducesNobody(t *testing.T) {
	s := newSite(t)
	_, ms, link, at := metMeeting(t, s, "met-block", []string{"ada", "grace"}, nil)
	s.list(t, link["ada"], "")
	s.list(t, link["grace"], "")
	s.metPost(t, link["grace"], url.Values{"action": {"ticks"}, "tick": {ms["ada"].ID}})
	if p := s.metPost(t, link["ada"], url.Values{"block": {ms["grace"].ID}}); p.Status != 200 {
		t.Fatalf("block: %d %s", p.Status, p.Body)
	}
	if p := s.do(t, http.MethodGet, link["ada"], nil); strings.Contains(p.Body, "Grace T.") {
		t.Errorf("ada still sees grace after blocking her")
	}
	if p := s.do(t, http.MethodGet, link["grace"], nil); strings.Contains(p.Body, "Ada T.") {
		t.Errorf("grace still sees ada, who blocked her")
	}
	s.metPost(t, link["ada"], url.Values{"action": {"ticks"}, "tick": {ms["grace"].ID}})
	s.introduce(t, at)
	if got := s.Counts(t, introSubject); len(got) != 0 {
		t.Fatalf("introductions across a block: %v", got)
	}
}

func TestMetLinksThatChangeNothing(t *testing.T) {
	s := newSite(t)
	m, ms, link, at := metMeeting(t, s, "met-links", []string{"ada", "grace"}, nil, "nobody")
	if _, err := s.Store.SetRSVP(ctx, m.ID, ms["nobody"].ID, group.No, m.Start.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.list(t, link["grace"], "")
	u, _ := url.Parse(link["ada"])
	tok := u.Query().Get("t")
	b := s.Runner.Links
	other := s.PutMeeting(t, meetingFields("met-links-other"))
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"forged", forge(tok), 403},
		{"damaged", "abc", 400},
		{"another action (pub)", tokenOf(cycle.MemberLinks(b, m, ms["ada"], at).Pub), 403},
		{"expired", tokenOf(b.URL("/met", links.Claims{Member: ms["ada"].ID, Meeting: m.ID, Action: links.ActionMet, Expires: at.Add(-time.Minute)}, nil)), 410},
		{"a member who answered No", tokenOf(cycle.MetLink(b, m, ms["nobody"])), 403},
		{"a meeting ada was not at", tokenOf(cycle.MetLink(b, other, ms["ada"])), 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, form := range []url.Values{
				{"t": {c.token}, "action": {"list"}, "line": {"hacked"}},
				{"t": {c.token}, "action": {"ticks"}, "tick": {ms["grace"].ID}},
			} {
				p := s.do(t, http.MethodPost, s.srv.URL+"/met", form)
				if p.Status != c.status {
					t.Errorf("POST status %d, want %d", p.Status, c.status)
				}
			}
			if g := s.do(t, http.MethodGet, s.srv.URL+"/met?t="+url.QueryEscape(c.token), nil); g.Status != c.status || strings.Contains(g.Body, "Grace T.") {
				t.Errorf("GET status %d (want %d) or shows attendees", g.Status, c.status)
			}
		})
	}
	for _, who := range []string{"ada", "nobody"} {
		p, err := s.Store.Profile(ctx, ms[who].ID)
		ticks, _ := s.Store.Ticks(ctx, m.ID, ms[who].ID)
		if err != nil || p.Listed || p.Line != "" || len(ticks) != 0 {
			t.Errorf("%s: profile %+v ticks %v changed by links that should change nothing", who, p, ticks)
		}
	}
	// Two weeks after the meeting the page is closed (the link has expired too).
	s.Site.Clock = func() time.Time { return m.End.Add(group.MetPageLife) }
	if p := s.metPost(t, link["ada"], url.Values{"action": {"list"}}); p.Status != 410 {
		t.Errorf("after two weeks: %d, want 410", p.Status)
	}
}

func tokenOf(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("t")
}

func TestMetAtMostThirtyTicks(t *testing.T) {
	s := newSite(t)
	names := []string{"ada"}
	for i := range 32 {
		names = append(names, "p"+string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	m, ms, link, _ := metMeeting(t, s, "met-thirty", names, nil)
	for _, n := range names {
		if err := s.Store.SetListing(ctx, ms[n].ID, true, "", m.End); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	for _, n := range names[1:] {
		all = append(all, ms[n].ID)
	}
	if p := s.metPost(t, link["ada"], url.Values{"action": {"ticks"}, "tick": all[:31]}); p.Status != 400 {
		t.Errorf("31 ticks: status %d, want 400", p.Status)
	}
	// 30 at once, then 30 others at once from two clients: never more than 30.
	var wg sync.WaitGroup
	for _, set := range [][]string{all[:30], all[2:32]} {
		wg.Add(1)
		go func() { defer wg.Done(); s.metPost(t, link["ada"], url.Values{"action": {"ticks"}, "tick": set}) }()
	}
	wg.Wait()
	if ticks, _ := s.Store.Ticks(ctx, m.ID, ms["ada"].ID); len(ticks) > group.MaxTicks {
		t.Errorf("ada holds %d ticks, more than %d", len(ticks), group.MaxTicks)
	}
}

// forge changes one character inside a token's signature: still a well-formed
// token (a truncated or undecodable one is "damaged", 400), but not ours.
func forge(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
