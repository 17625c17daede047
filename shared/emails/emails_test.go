package emails_test

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// entity is one MIME entity of a parsed message, its body decoded.
type entity struct {
	contentType string
	params      map[string]string
	disposition string
	dispParams  map[string]string
	encoding    string
	body        []byte
	children    []*entity
}

func (e *entity) structure() string {
	if len(e.children) == 0 {
		return e.contentType
	}
	parts := make([]string, len(e.children))
	for i, c := range e.children {
		parts[i] = c.structure()
	}
	return e.contentType + "(" + strings.Join(parts, ",") + ")"
}

// find returns every leaf entity of content type ct.
func (e *entity) find(ct string) []*entity {
	var out []*entity
	if e.contentType == ct && len(e.children) == 0 {
		out = append(out, e)
	}
	for _, c := range e.children {
		out = append(out, c.find(ct)...)
	}
	return out
}

type parsed struct {
	header mail.Header
	root   *entity
}

func (p parsed) only(t testing.TB, ct string) *entity {
	t.Helper()
	es := p.root.find(ct)
	if len(es) != 1 {
		t.Fatalf("want one %s part, got %d in %s", ct, len(es), p.root.structure())
	}
	return es[0]
}

func (p parsed) text(t testing.TB) string { t.Helper(); return string(p.only(t, "text/plain").body) }

// html is the HTML part with entities decoded, so links can be compared as written.
func (p parsed) html(t testing.TB) string {
	t.Helper()
	return html.UnescapeString(string(p.only(t, "text/html").body))
}

var tag = regexp.MustCompile(`<[^>]*>`)

// visible is the HTML part's text as a reader sees it: no tags, entities decoded,
// whitespace collapsed.
func (p parsed) visible(t testing.TB) string {
	t.Helper()
	s := tag.ReplaceAllString(string(p.only(t, "text/html").body), "")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// parse reads raw with Go's net/mail and mime/multipart, checking the framing SMTP
// needs on the way: 7-bit ASCII, CRLF line endings, no line over 998 octets.
func parse(t testing.TB, raw []byte) parsed {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		switch {
		case strings.ContainsAny(line, "\r\n"):
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		case len(line) > 998:
			t.Fatalf("line %d is %d octets long", i+1, len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v", err)
	}
	root := parseEntity(t, textproto.MIMEHeader(msg.Header), msg.Body)
	return parsed{header: msg.Header, root: root}
}

func parseEntity(t testing.TB, h textproto.MIMEHeader, body io.Reader) *entity {
	t.Helper()
	e := &entity{encoding: h.Get("Content-Transfer-Encoding")}
	var err error
	e.contentType, e.params, err = mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if d := h.Get("Content-Disposition"); d != "" {
		if e.disposition, e.dispParams, err = mime.ParseMediaType(d); err != nil {
			t.Fatalf("Content-Disposition %q: %v", d, err)
		}
	}
	if strings.HasPrefix(e.contentType, "multipart/") {
		mr := multipart.NewReader(body, e.params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			e.children = append(e.children, parseEntity(t, p.Header, p))
		}
		return e
	}
	switch strings.ToLower(e.encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	default:
		t.Fatalf("%s part has Content-Transfer-Encoding %q; want quoted-printable or base64", e.contentType, e.encoding)
	}
	if e.body, err = io.ReadAll(body); err != nil {
		t.Fatalf("%s body: %v", e.contentType, err)
	}
	return e
}

func subject(t testing.TB, h mail.Header) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", h.Get("Subject"), err)
	}
	return s
}

// calendar parses an ics body with golang-ical and returns its only event.
func calendar(t testing.TB, b []byte) (*ics.Calendar, *ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("golang-ical cannot parse the invite: %v\n%s", err, b)
	}
	if n := len(cal.Events()); n != 1 {
		t.Fatalf("%d events in the invite", n)
	}
	return cal, cal.Events()[0]
}

func calProp(cal *ics.Calendar, name ics.Property) string {
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(name) {
			return p.Value
		}
	}
	return ""
}

func eventProp(e *ics.VEvent, name ics.ComponentProperty) string {
	if p := e.GetProperty(name); p != nil {
		return p.Value
	}
	return ""
}

func render(t testing.TB, m emails.Message) (emails.Rendered, parsed) {
	t.Helper()
	out, err := renderer(t).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	return out, parse(t, out.Raw)
}

const (
	inviteStructure      = "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"
	alternativeStructure = "multipart/alternative(text/plain,text/html)"
)

func TestRender(t *testing.T) {
	la := "America/Los_Angeles"
	tests := []struct {
		name        string
		msg         func(t *testing.T) emails.Message
		wantSubject string
		structure   string
		method      string // of the calendar, for invitations
		links       func(l emails.Links) []string
		wantText    []string
	}{
		{
			name:        "invitation",
			msg:         func(t *testing.T) emails.Message { return fixture(t, group.Invitation, la, "2026-12-10T18:30") },
			wantSubject: "You're invited: Go and the Art of Tiny Binaries on Thu 10 Dec",
			structure:   inviteStructure,
			method:      "REQUEST",
			links:       func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No, l.Calendar} },
			wantText: []string{
				"Hi José,", "Thursday 10 December 2026, 18:30–20:30 PST", "Ada's Café", "12 Main St, Portland, OR 97214",
				"How small can a Go binary get", "Meet our speaker, Jane Doe: Jane keeps bees",
				"silly icebreaker question", "Afterwards we go to The Lucky Lab",
				"Add it to your calendar", "Google Calendar", "Outlook.com",
			},
		},
		{
			name: "update",
			msg: func(t *testing.T) emails.Message {
				m := fixture(t, group.Invitation, la, "2026-12-10T18:30")
				before := m.Meeting
				m.Meeting.Start, m.Meeting.End = m.Meeting.Start.Add(time.Hour), m.Meeting.End.Add(time.Hour)
				m.Meeting.Venue = "The Annex"
				m.Sequence, m.Changes = 1, emails.Changes(before, m.Meeting)
				return m
			},
			wantSubject: "Updated: Go and the Art of Tiny Binaries on Thu 10 Dec",
			structure:   inviteStructure,
			method:      "REQUEST",
			links:       func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No, l.Calendar} },
			wantText: []string{
				"something changed",
				"New time: Thursday 10 December 2026, 19:30–21:30 PST (was Thursday 10 December 2026, 18:30–20:30 PST)",
				"New venue: The Annex, 12 Main St, Portland, OR 97214 (was Ada's Café, 12 Main St, Portland, OR 97214)",
			},
		},
		{
			name: "first invitation after an update",
			msg: func(t *testing.T) emails.Message {
				m := fixture(t, group.Invitation, la, "2026-12-10T18:30")
				m.Sequence = 2
				return m
			},
			wantSubject: "You're invited: Go and the Art of Tiny Binaries on Thu 10 Dec",
			structure:   inviteStructure,
			method:      "REQUEST",
			links:       func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No, l.Calendar} },
			wantText:    []string{"You're invited to the next Rose City Gophers meeting"},
		},
		{
			name: "cancellation",
			msg: func(t *testing.T) emails.Message {
				m := fixture(t, group.Invitation, la, "2026-12-10T18:30")
				m.Meeting.Status = group.StatusCancelled
				m.Sequence = 2
				return m
			},
			wantSubject: "Cancelled: Go and the Art of Tiny Binaries on Thu 10 Dec",
			structure:   inviteStructure,
			method:      "CANCEL",
			links:       func(l emails.Links) []string { return nil },
			wantText:    []string{"is cancelled"},
		},
		{
			name:        "reminder",
			msg:         func(t *testing.T) emails.Message { return fixture(t, group.Reminder, la, "2026-12-10T18:30") },
			wantSubject: "Reminder: Go and the Art of Tiny Binaries is on Thu 10 Dec",
			structure:   alternativeStructure,
			links:       func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} },
			wantText:    []string{"is on Thursday.", "Thursday's icebreaker question", "What's the worst name"},
		},
		{
			name:        "teaser",
			msg:         func(t *testing.T) emails.Message { return fixture(t, group.Teaser, la, "2026-12-10T18:30") },
			wantSubject: "Tomorrow's icebreaker: What's the worst name you've ever given a variable?",
			structure:   alternativeStructure,
			links:       func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} },
			wantText: []string{
				"What's the worst name you've ever given a variable?", "Meet our speaker, Jane Doe: Jane keeps bees",
				"We start at 18:30 PST", "Afterwards we go to The Lucky Lab", "See you tomorrow!",
			},
		},
		{
			name:        "pub",
			msg:         func(t *testing.T) emails.Message { return fixture(t, group.Pub, la, "2026-12-10T18:30") },
			wantSubject: "After-party: we're at The Lucky Lab",
			structure:   alternativeStructure,
			links: func(l emails.Links) []string {
				return []string{l.Pub, "https://www.openstreetmap.org/search?query=915+SE+Hawthorne+Blvd%2C+Portland%2C+OR+97214"}
			},
			wantText: []string{"The Lucky Lab", "915 SE Hawthorne Blvd, Portland, OR 97214", "someone you haven't met yet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.msg(t)
			out, p := render(t, m)

			if out.Subject != tt.wantSubject {
				t.Errorf("Rendered.Subject = %q, want %q", out.Subject, tt.wantSubject)
			}
			if got := subject(t, p.header); got != tt.wantSubject {
				t.Errorf("Subject header decodes to %q, want %q", got, tt.wantSubject)
			}
			if got := p.root.structure(); got != tt.structure {
				t.Errorf("structure %s, want %s", got, tt.structure)
			}
			checkHeaders(t, p.header, m)

			text, htm := p.text(t), p.html(t)
			for _, part := range []struct {
				name, body string
				ct         *entity
			}{{"text", text, p.only(t, "text/plain")}, {"HTML", htm, p.only(t, "text/html")}} {
				if cs := part.ct.params["charset"]; !strings.EqualFold(cs, "utf-8") {
					t.Errorf("%s part charset %q", part.name, cs)
				}
				for _, l := range append(tt.links(m.Links), m.Links.Unsubscribe, m.Links.MeetingPage) {
					if !strings.Contains(part.body, l) {
						t.Errorf("%s part lacks link %s", part.name, l)
					}
				}
				if !strings.Contains(part.body, m.Meeting.Title) {
					t.Errorf("%s part lacks the title", part.name)
				}
			}
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text part lacks %q:\n%s", w, text)
				}
				if !strings.Contains(p.visible(t), w) {
					t.Errorf("HTML part lacks %q", w)
				}
			}
			if !strings.Contains(htm, "<!DOCTYPE html>") || strings.Contains(htm, "<link") || strings.Contains(htm, "<img") || strings.Contains(htm, "<script") {
				t.Errorf("HTML is not a self-contained page")
			}

			if tt.method == "" {
				return
			}
			part := p.only(t, "text/calendar")
			if part.params["method"] != tt.method || !strings.EqualFold(part.params["charset"], "utf-8") {
				t.Errorf("text/calendar params %v, want method=%s charset=UTF-8", part.params, tt.method)
			}
			att := p.only(t, "application/ics")
			if att.disposition != "attachment" || att.dispParams["filename"] != "invite.ics" || att.params["name"] != "invite.ics" {
				t.Errorf("attachment: disposition %q %v, params %v", att.disposition, att.dispParams, att.params)
			}
			if !bytes.Equal(att.body, part.body) {
				t.Error("invite.ics differs from the text/calendar part")
			}
			cal, ev := calendar(t, part.body)
			if got := calProp(cal, ics.PropertyMethod); got != tt.method {
				t.Errorf("METHOD %q, want %q", got, tt.method)
			}
			if got := eventProp(ev, ics.ComponentPropertyUniqueId); got != m.Meeting.ID+"@afterparty.example" {
				t.Errorf("UID %q", got)
			}
			if got := eventProp(ev, ics.ComponentPropertySequence); got != string(rune('0'+m.Sequence)) {
				t.Errorf("SEQUENCE %q, want %d", got, m.Sequence)
			}
			if got := eventProp(ev, ics.ComponentPropertyDtstamp); got != m.Now.UTC().Format("20060102T150405Z") {
				t.Errorf("DTSTAMP %q, want Now", got)
			}
			if got := eventProp(ev, ics.ComponentPropertySummary); got != m.Meeting.Title {
				t.Errorf("SUMMARY %q", got)
			}
			if tt.method == "REQUEST" && !strings.Contains(eventProp(ev, ics.ComponentPropertyDescription), m.Links.Yes) {
				t.Errorf("DESCRIPTION lacks the Yes link: %q", eventProp(ev, ics.ComponentPropertyDescription))
			}
			atts := ev.Attendees()
			if len(atts) != 1 || atts[0].Email() != m.Member.Email {
				t.Errorf("ATTENDEE %+v, want the member", atts)
			}
			if got := eventProp(ev, ics.ComponentPropertyOrganizer); got != "mailto:"+m.Organizer.Address {
				t.Errorf("ORGANIZER %q, want the member's reply address", got)
			}
			wantStatus := map[string]string{"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}[tt.method]
			if got := eventProp(ev, ics.ComponentPropertyStatus); got != wantStatus {
				t.Errorf("STATUS %q, want %q", got, wantStatus)
			}
		})
	}
}

// checkHeaders checks the header every email carries.
func checkHeaders(t *testing.T, h mail.Header, m emails.Message) {
	t.Helper()
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != m.Group.From.Address || from.Name != m.Group.From.Name {
		t.Errorf("From %q (%v)", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != m.Member.Email || to[0].Name != m.Member.Name {
		t.Errorf("To %q decodes to %v (%v), want %q <%s>", h.Get("To"), to, err, m.Member.Name, m.Member.Email)
	}
	replyTo, err := h.AddressList("Reply-To")
	if err != nil || len(replyTo) != len(m.Group.Organizers) {
		t.Errorf("Reply-To %q (%v), want the organizers", h.Get("Reply-To"), err)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(m.Now) {
		t.Errorf("Date %q (%v), want %v", h.Get("Date"), err, m.Now)
	}
	id := h.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@afterparty.example>") || len(id) < 30 {
		t.Errorf("Message-ID %q, want <random@afterparty.example>", id)
	}
	if got := h.Get("Mime-Version"); got != "1.0" {
		t.Errorf("MIME-Version %q", got)
	}
	if got, want := h.Get("List-Unsubscribe"), "<"+m.Links.UnsubscribeOneClick+">"; got != want {
		t.Errorf("List-Unsubscribe %q, want %q", got, want)
	}
	if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
}

func TestEveryKindRenders(t *testing.T) {
	for _, k := range group.Kinds {
		t.Run(string(k), func(t *testing.T) {
			render(t, fixture(t, k, "Europe/Berlin", "2027-01-14T19:00"))
		})
	}
}

func TestHTMLEscaping(t *testing.T) {
	for _, k := range group.Kinds {
		t.Run(string(k), func(t *testing.T) {
			m := fixture(t, k, "America/Los_Angeles", "2026-12-10T18:30")
			m.Meeting.Title = `<script>&"`
			m.Meeting.SpeakerIntro = `<img src=x onerror=alert(1)>`
			m.Meeting.PubName = `<b>Pub</b>`
			m.Member.Name = `<i>Eve</i> Smith`
			m.Icebreaker = `<a href="javascript:alert(1)">?</a>`
			out, p := render(t, m)

			raw := string(p.only(t, "text/html").body)
			for _, bad := range []string{"<script", "<img", "<b>Pub", "<i>Eve", `href="javascript`} {
				if strings.Contains(raw, bad) {
					t.Errorf("HTML contains unescaped %q", bad)
				}
			}
			if !strings.Contains(raw, "&lt;script&gt;&amp;&#34;") {
				t.Errorf("HTML lacks the escaped title")
			}
			if !strings.Contains(p.text(t), `<script>&"`) {
				t.Errorf("text part should carry the title as written")
			}
			if !strings.Contains(out.Subject, `<script>&"`) && k != group.Pub && k != group.Teaser {
				t.Errorf("subject %q lacks the title as written", out.Subject)
			}
		})
	}
}

func TestAwkwardText(t *testing.T) {
	long := strings.Repeat("Über-long topic, with commas; semicolons & \"quotes\". ", 4)[:200]
	m := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30")
	m.Meeting.Title = "Ünïcode, Tacos; & Go"
	m.Meeting.Topic = long
	m.Meeting.SpeakerIntro = long
	m.Meeting.Venue = "Café; Bar, \"Back room\""
	out, p := render(t, m)

	rawSubject := p.header.Get("Subject")
	if !strings.Contains(rawSubject, "=?utf-8?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", rawSubject)
	}
	if got, want := subject(t, p.header), "You're invited: Ünïcode, Tacos; & Go on Thu 10 Dec"; got != want || out.Subject != want {
		t.Errorf("Subject decodes to %q (Rendered %q), want %q", got, out.Subject, want)
	}
	if !strings.Contains(p.text(t), long) || !strings.Contains(p.html(t), long) {
		t.Errorf("the 200-character topic did not survive intact")
	}
	if !strings.Contains(p.html(t), "Ünïcode, Tacos; & Go") {
		t.Errorf("HTML lacks the title")
	}
	_, ev := calendar(t, p.only(t, "text/calendar").body)
	if got := eventProp(ev, ics.ComponentPropertySummary); got != m.Meeting.Title {
		t.Errorf("SUMMARY %q, want %q", got, m.Meeting.Title)
	}
	if got, want := eventProp(ev, ics.ComponentPropertyLocation), m.Meeting.Venue+", "+m.Meeting.VenueAddress; got != want {
		t.Errorf("LOCATION %q, want %q", got, want)
	}
	if !strings.Contains(eventProp(ev, ics.ComponentPropertyDescription), long) {
		t.Errorf("DESCRIPTION lacks the topic")
	}
}

func TestLongSubjects(t *testing.T) {
	tests := []struct {
		name, title, pub, icebreaker string
		maxLine                      int // of a header line
	}{
		// ASCII text folds at its spaces within RFC 5322's 78.
		{"ASCII", strings.Repeat("Tiny binaries and big ideas ", 8)[:200], strings.Repeat("The Lucky Lab ", 14), strings.Repeat("What is your worst variable name? ", 5), 78},
		// Encoded-words are up to 75 characters (Go's mime encoder), so go-message
		// cannot fold before the first one and keeps the field on one line: still
		// within RFC 5322's hard limit of 998, and read back exactly.
		{"non-ASCII", strings.Repeat("Grüße aus Köln; ", 13)[:200], strings.Repeat("Zum Schwarzen Hähnchen ", 8), strings.Repeat("Wie heißt deine schlimmste Variable? ", 5), 998},
	}
	for _, tt := range tests {
		for _, k := range group.Kinds {
			t.Run(tt.name+"/"+string(k), func(t *testing.T) {
				m := fixture(t, k, "Europe/Berlin", "2027-01-14T19:00")
				m.Meeting.Title, m.Meeting.PubName, m.Icebreaker = tt.title, tt.pub, tt.icebreaker
				out, p := render(t, m)
				if got := subject(t, p.header); got != out.Subject || !strings.Contains(got, strings.TrimSpace(map[group.Kind]string{
					group.Invitation: tt.title, group.Reminder: tt.title, group.Teaser: tt.icebreaker, group.Pub: tt.pub, group.Connections: tt.title,
				}[k])) {
					t.Errorf("Subject decodes to %q, Rendered.Subject %q", got, out.Subject)
				}
				head, _, _ := strings.Cut(string(out.Raw), "\r\n\r\n")
				for _, line := range strings.Split(head, "\r\n") {
					if len(line) > tt.maxLine && !strings.HasPrefix(line, "List-Unsubscribe:") {
						t.Errorf("header line of %d octets: %q", len(line), line)
					}
				}
			})
		}
	}
}

func TestDaylightSaving(t *testing.T) {
	tests := []struct {
		name, zone, start string
		wantUTC           time.Time
		wantWhen          string
	}{
		{
			name: "day after DST ends in Los Angeles", zone: "America/Los_Angeles", start: "2026-11-02T18:30",
			wantUTC:  time.Date(2026, 11, 3, 2, 30, 0, 0, time.UTC),
			wantWhen: "Monday 2 November 2026, 18:30–20:30 PST",
		},
		{
			name: "day after DST starts in Berlin", zone: "Europe/Berlin", start: "2026-03-30T19:00",
			wantUTC:  time.Date(2026, 3, 30, 17, 0, 0, 0, time.UTC),
			wantWhen: "Monday 30 March 2026, 19:00–21:00 CEST",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Invitation, tt.zone, tt.start)
			_, p := render(t, m)
			if !strings.Contains(p.text(t), tt.wantWhen) {
				t.Errorf("text lacks %q", tt.wantWhen)
			}
			_, ev := calendar(t, p.only(t, "text/calendar").body)
			start, err := ev.GetStartAt()
			if err != nil {
				t.Fatal(err)
			}
			if !start.Equal(tt.wantUTC) {
				t.Errorf("DTSTART is %v, want %v", start.UTC(), tt.wantUTC)
			}
			end, err := ev.GetEndAt()
			if err != nil || !end.Equal(tt.wantUTC.Add(2*time.Hour)) {
				t.Errorf("DTEND is %v (%v)", end.UTC(), err)
			}
		})
	}
}

func TestHeaderInjection(t *testing.T) {
	const evil = "\r\nBcc: victim@example.net\r\nX-Injected: yes"
	tests := []struct {
		name    string
		change  func(*emails.Message)
		wantErr bool
	}{
		{"member name", func(m *emails.Message) { m.Member.Name = "Eve" + evil }, false},
		{"member name with bare LF", func(m *emails.Message) { m.Member.Name = "Eve\nBcc: victim@example.net" }, false},
		{"title in the subject", func(m *emails.Message) { m.Meeting.Title = "Go" + evil }, false},
		{"icebreaker in the subject", func(m *emails.Message) { m.Kind = group.Teaser; m.Icebreaker = "Why?" + evil }, false},
		{"pub name in the subject", func(m *emails.Message) { m.Kind = group.Pub; m.Meeting.PubName = "Pub" + evil }, false},
		{"group name", func(m *emails.Message) { m.Group.From.Name = "Gophers" + evil }, false},
		{"member address", func(m *emails.Message) { m.Member.Email = "eve@example.com" + evil }, true},
		{"organizer address", func(m *emails.Message) { m.Group.Organizers = []string{"ann@afterparty.example" + evil} }, true},
		{"message id", func(m *emails.Message) { m.MessageID = "<a@b.example>" + evil }, true},
		{"one-click link", func(m *emails.Message) { m.Links.UnsubscribeOneClick = "https://afterparty.example/u" + evil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30")
			tt.change(&m)
			out, err := renderer(t).Render(m)
			if tt.wantErr {
				if err == nil {
					t.Fatal("rendered; want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, out.Raw)
			for _, k := range []string{"Bcc", "X-Injected"} {
				if v, ok := p.header[k]; ok {
					t.Errorf("injected header %s: %q", k, v)
				}
			}
			head, _, _ := strings.Cut(string(out.Raw), "\r\n\r\n")
			if strings.Contains(head, "\r\nBcc:") || strings.Contains(head, "\r\nX-Injected:") || strings.ContainsAny(out.Subject, "\r\n") {
				t.Errorf("a header line starts with an injected name, or the subject has a line break:\n%s", head)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		kind   group.Kind
		change func(*emails.Message)
		want   string
	}{
		{"unknown kind", group.Kind("digest"), func(m *emails.Message) {}, "unknown kind"},
		{"reminder for a cancelled meeting", group.Reminder, func(m *emails.Message) { m.Meeting.Status = group.StatusCancelled }, "cancelled"},
		{"pub email without a pub", group.Pub, func(m *emails.Message) { m.Meeting.PubName = "" }, "pub_name"},
		{"teaser without a question", group.Teaser, func(m *emails.Message) { m.Icebreaker = " " }, "icebreaker"},
		{"invitation without a Yes link", group.Invitation, func(m *emails.Message) { m.Links.Yes = "" }, "Yes"},
		{"pub email without the pub link", group.Pub, func(m *emails.Message) { m.Links.Pub = "" }, "Pub"},
		{"no unsubscribe link", group.Reminder, func(m *emails.Message) { m.Links.Unsubscribe = "" }, "Unsubscribe"},
		{"one-click over plain http", group.Reminder, func(m *emails.Message) { m.Links.UnsubscribeOneClick = "http://afterparty.example/u" }, "https"},
		{"relative link", group.Reminder, func(m *emails.Message) { m.Links.No = "/l/no" }, "absolute"},
		{"javascript pub_url", group.Pub, func(m *emails.Message) { m.Meeting.PubURL = "javascript:alert(1)" }, "pub_url"},
		{"no Now", group.Reminder, func(m *emails.Message) { m.Now = time.Time{} }, "Now"},
		{"no From", group.Reminder, func(m *emails.Message) { m.Group.From.Address = "" }, "From"},
		{"member without address", group.Reminder, func(m *emails.Message) { m.Member.Email = "José" }, "member"},
		{"no title", group.Reminder, func(m *emails.Message) { m.Meeting.Title = "" }, "title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30")
			m.Kind = tt.kind
			tt.change(&m)
			_, err := renderer(t).Render(m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoopbackOneClickAllowed(t *testing.T) {
	m := fixture(t, group.Reminder, "America/Los_Angeles", "2026-12-10T18:30")
	m.Links.UnsubscribeOneClick = "http://127.0.0.1:8080/u/one-click?t=x"
	_, p := render(t, m)
	if got := p.header.Get("List-Unsubscribe"); got != "<http://127.0.0.1:8080/u/one-click?t=x>" {
		t.Errorf("List-Unsubscribe %q", got)
	}
}

func TestMessageID(t *testing.T) {
	m := fixture(t, group.Reminder, "America/Los_Angeles", "2026-12-10T18:30")
	_, a := render(t, m)
	_, b := render(t, m)
	if a.header.Get("Message-Id") == b.header.Get("Message-Id") {
		t.Errorf("two renders share Message-ID %s", a.header.Get("Message-Id"))
	}
	for _, given := range []string{"<claim-123@afterparty.example>", "claim-123@afterparty.example"} {
		t.Run(given, func(t *testing.T) {
			m.MessageID = given
			_, p := render(t, m)
			if got := p.header.Get("Message-Id"); got != "<claim-123@afterparty.example>" {
				t.Errorf("Message-ID %q", got)
			}
		})
	}
}

func TestNoReplyTo(t *testing.T) {
	m := fixture(t, group.Reminder, "America/Los_Angeles", "2026-12-10T18:30")
	m.Group.Organizers = nil
	_, p := render(t, m)
	if _, ok := p.header["Reply-To"]; ok {
		t.Errorf("Reply-To %q without organizers", p.header.Get("Reply-To"))
	}
}

func TestPubMapLink(t *testing.T) {
	tests := []struct {
		name, pubURL, address, want string
	}{
		{"pub_url wins", "https://maps.example/lucky-lab", "915 SE Hawthorne Blvd", "https://maps.example/lucky-lab"},
		{"address search", "", "Königstraße 1 & 2, Stuttgart", "https://www.openstreetmap.org/search?query=K%C3%B6nigstra%C3%9Fe+1+%26+2%2C+Stuttgart"},
		{"name search without address", "", "", "https://www.openstreetmap.org/search?query=The+Lucky+Lab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Pub, "America/Los_Angeles", "2026-12-10T18:30")
			m.Meeting.PubURL = tt.pubURL
			m.Meeting.PubAddress = tt.address
			_, p := render(t, m)
			if !strings.Contains(p.text(t), tt.want) || !strings.Contains(p.html(t), tt.want) {
				t.Errorf("map link %s missing", tt.want)
			}
		})
	}
}

func TestTeaserSaysWhen(t *testing.T) {
	tests := []struct {
		name   string
		before time.Duration
		want   string
	}{
		{"same afternoon", 5 * time.Hour, "Tonight's icebreaker: "},
		{"day before", 24 * time.Hour, "Tomorrow's icebreaker: "},
		{"three days before", 72 * time.Hour, "Monday's icebreaker: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Teaser, "Europe/Berlin", "2026-12-14T19:00")
			m.Now = m.Meeting.Start.Add(-tt.before)
			out, _ := render(t, m)
			if !strings.HasPrefix(out.Subject, tt.want) {
				t.Errorf("subject %q, want it to start %q", out.Subject, tt.want)
			}
		})
	}
}

func TestUIDDomain(t *testing.T) {
	g := emails.Group{From: mail.Address{Address: "Organizers@Afterparty.Example"}}
	if got := g.UIDDomain(); got != "afterparty.example" {
		t.Errorf("UIDDomain = %q", got)
	}
}

func TestGreeting(t *testing.T) {
	tests := []struct {
		name, member, wantGreeting string
	}{
		{"first name", "José Núñez", "Hi José,"},
		{"no name", "", "Hi there,"},
		{"last, first", "Núñez, José", "Hi José,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t, group.Reminder, "America/Los_Angeles", "2026-12-10T18:30")
			m.Member.Name = tt.member
			_, p := render(t, m)
			if !strings.HasPrefix(p.text(t), tt.wantGreeting+"\r\n") || !strings.Contains(p.visible(t), tt.wantGreeting) {
				t.Errorf("greeting: want %q in both parts", tt.wantGreeting)
			}
			to, err := p.header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != tt.member || to[0].Address != "jose@example.com" {
				t.Errorf("To %q reads as %v (%v)", p.header.Get("To"), to, err)
			}
		})
	}
}
