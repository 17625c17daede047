package main

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// replyEML is shared/replies' Google Calendar REPLY fixture, filled in for member
// and meeting with a reply token the CLI's own keys sign.
func replyEML(t *testing.T, c cli, a *links.Signer, file, email, meetingID, domain string) string {
	t.Helper()
	b, err := os.ReadFile("../../shared/replies/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.ReplyToken("", group.MemberID(email), meetingID)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("{{MEMBER}}", email, "{{TOKEN}}", tok, "{{DOMAIN}}", domain,
		"{{UID}}", meetingID+"@afterparty.example", "{{SEQ}}", "0", "{{RUN}}", group.MemberID(email)).Replace(string(b))
	return c.file(t, file, s)
}

// TestRSVPsShowWhereAnswersCameFrom: an answer from the RSVP page is "link", one
// from the member's calendar (afterparty inbound) is "calendar", in the table and
// the CSV; a member who answers in the calendar and then by link shows "link".
func TestRSVPsShowWhereAnswersCameFrom(t *testing.T) {
	const domain = "reply.cli.example"
	c := newCLI(t)
	c.env = append(c.env, "AFTERPARTY_REPLY_DOMAIN="+domain)
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", `meetings:
  - meeting_id: 2031-05-08
    title: Tracing Go services
    starts_at: 2031-05-08T18:30
    venue: The Hall
`))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nada@source.example,Ada\ngrace@source.example,Grace\nken@source.example,Ken\n"))
	a := c.app(t)
	srv := httptest.NewServer(a.Site.Handler())
	defer srv.Close()
	byLink := func(email string, answer group.Answer) {
		t.Helper()
		link := a.Runner.Links.URL("/rsvp", links.Claims{Member: group.MemberID(email), Meeting: "2031-05-08", Action: links.ActionRSVP,
			Expires: time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)}, nil)
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.PostForm(srv.URL+u.RequestURI(), url.Values{"answer": {string(answer)}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST /rsvp for %s: %s", email, res.Status)
		}
	}
	byCalendar := func(email string) {
		t.Helper()
		out := mustRun(t, c, "inbound", replyEML(t, c, a.Signer, "google-accepted.eml", email, "2031-05-08", domain), "--authenticated")
		if !strings.HasPrefix(out, "recorded") {
			t.Fatalf("inbound for %s: %s", email, out)
		}
	}
	byLink("ada@source.example", group.Maybe)
	byCalendar("grace@source.example")
	byCalendar("ken@source.example")
	byLink("ken@source.example", group.No)

	recs, err := csv.NewReader(strings.NewReader(mustRun(t, c, "rsvps", "2031-05-08", "--csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if h := recs[0]; h[len(h)-1] != "source" {
		t.Fatalf("CSV header %v: no source column", h)
	}
	want := map[string][2]string{"ada@source.example": {"maybe", "link"}, "grace@source.example": {"yes", "calendar"}, "ken@source.example": {"no", "link"}}
	for _, r := range recs[1:] {
		if w, ok := want[r[0]]; ok && (r[2] != w[0] || r[len(r)-1] != w[1]) {
			t.Errorf("csv row %v, want answer %s from %s", r, w[0], w[1])
		}
	}
	table := mustRun(t, c, "rsvps", "2031-05-08")
	if !strings.Contains(lineContaining(table, "EMAIL"), "SOURCE") || !strings.HasSuffix(strings.TrimSpace(lineContaining(table, "grace@source.example")), "calendar") {
		t.Errorf("table:\n%s", table)
	}
}
