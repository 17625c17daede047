package emails_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// The validators' output (infra/local/validate-mail.js).
type nodeAddress struct{ Name, Address string }

type nodeCalAddress struct {
	Value  string
	Params map[string]string
}

type nodeEvent struct {
	UID, Summary, Location, Description, URL, Status string
	Sequence                                         int
	Dtstamp, Dtstart, Dtend                          string
	DtstartZone, DtendZone                           *string
	Organizer                                        *nodeCalAddress
	Attendees                                        []nodeCalAddress
}

type nodeCalendar struct {
	Error                             string
	Method, Prodid, Version, Calscale string
	Timezones                         []string
	Observances                       map[string][]string // per TZID: "standard" / "daylight"
	Events                            []nodeEvent
}

type nodeAttachment struct {
	Filename           *string
	ContentType        string
	ContentTypeParams  map[string]string
	ContentDisposition *string
	Calendar           *nodeCalendar
}

type nodeMessage struct {
	Error       string
	Subject     string
	From, To    []nodeAddress
	ReplyTo     []nodeAddress
	Date        string
	MessageID   string
	Headers     map[string][]string
	List        map[string]map[string]string
	Text, HTML  string
	Attachments []nodeAttachment
}

// repoRoot walks up from the test's directory to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// requireValidators fails (never skips) when the pinned npm validators are missing
// or are not the versions infra/local/package.json pins.
func requireValidators(t *testing.T, root string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH: install Node.js, then run `make deps` (or `npm ci --prefix infra/local`)")
	}
	var pkg struct{ Dependencies map[string]string }
	b, err := os.ReadFile(filepath.Join(root, "infra/local/package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("infra/local/package.json: %v", err)
	}
	for _, name := range []string{"mailparser", "ical.js"} {
		want := pkg.Dependencies[name]
		if want == "" {
			t.Fatalf("infra/local/package.json does not pin %s", name)
		}
		b, err := os.ReadFile(filepath.Join(root, "infra/local/node_modules", name, "package.json"))
		if err != nil {
			t.Fatalf("npm package %s is not installed in infra/local/node_modules: run `make deps` (or `npm ci --prefix infra/local`)", name)
		}
		var got struct{ Version string }
		if err := json.Unmarshal(b, &got); err != nil || got.Version != want {
			t.Fatalf("npm package %s is %q, infra/local/package.json pins %q: run `make deps` (or `npm ci --prefix infra/local`)", name, got.Version, want)
		}
	}
}

// validate runs every raw message through validate-mail.js.
func validate(t *testing.T, raws [][]byte) []nodeMessage {
	t.Helper()
	root := repoRoot(t)
	requireValidators(t, root)
	in := make([]string, len(raws))
	for i, r := range raws {
		in[i] = base64.StdEncoding.EncodeToString(r)
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "infra/local/validate-mail.js")
	cmd.Dir = root
	// A zone far from every test meeting's: a time read as floating (VTIMEZONE not
	// found) would land on a different instant and fail the comparison.
	cmd.Env = append(os.Environ(), "TZ=Asia/Kathmandu")
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node infra/local/validate-mail.js: %v\n%s", err, stderr.String())
	}
	var out []nodeMessage
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("validate-mail.js output: %v\n%s", err, stdout.String())
	}
	if len(out) != len(raws) {
		t.Fatalf("validate-mail.js parsed %d messages, sent %d", len(out), len(raws))
	}
	return out
}

// TestIndependentParsers renders every kind and checks, field by field, that npm
// mailparser and Mozilla's ical.js read back the schedule the emails were made from.
func TestIndependentParsers(t *testing.T) {
	unicode := fixture(t, group.Invitation, "Europe/Berlin", "2027-01-14T19:00")
	unicode.Meeting.Title = "Ünïcode, Tacos; & Go"
	unicode.Meeting.Venue = `Café "Zur Linde"; back room`
	unicode.Meeting.Topic = strings.Repeat("Grüße, Tacos; und \\ Backslashes. ", 7)[:200]
	unicode.Member.Name = `O'Brien, Ann "Annie"`
	unicode.Sequence = 3

	cancelled := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30")
	cancelled.Meeting.Status = group.StatusCancelled
	cancelled.Sequence = 1

	backslash := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30")
	// RFC 5545 writes a backslash in a parameter value as it is. ical.js 2.2.1 decodes
	// parameter values as TEXT, so it would misread \n, \N, \\, \, and \; there (a
	// deviation of its own); this name has none of them.
	backslash.Member.Name = `Back\slash D:\Gophers\`

	escaped := fixture(t, group.Reminder, "America/Los_Angeles", "2026-12-10T18:30")
	escaped.Meeting.Title = `<script>&"`

	cases := []struct {
		name   string
		msg    emails.Message
		method string // of the calendar parts, "" for none
		links  func(emails.Links) []string
	}{
		{"invitation the day after DST ends", fixture(t, group.Invitation, "America/Los_Angeles", "2026-11-02T18:30"), "REQUEST",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No, l.Calendar} }},
		{"update with non-ASCII and separators", unicode, "REQUEST",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"invitation on the Sunday DST starts", fixture(t, group.Invitation, "America/Los_Angeles", "2027-03-14T18:00"), "REQUEST",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"invitation on the Sunday DST starts in Sydney", fixture(t, group.Invitation, "Australia/Sydney", "2027-10-03T18:00"), "REQUEST",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"invitation to a name with backslashes", backslash, "REQUEST",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"cancellation", cancelled, "CANCEL", func(emails.Links) []string { return nil }},
		{"reminder with markup in the title", escaped, "", func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"teaser", fixture(t, group.Teaser, "America/Los_Angeles", "2026-12-10T18:30"), "",
			func(l emails.Links) []string { return []string{l.Yes, l.Maybe, l.No} }},
		{"pub", fixture(t, group.Pub, "Europe/Berlin", "2027-01-14T19:00"), "",
			func(l emails.Links) []string { return []string{l.Pub} }},
	}

	r := renderer(t)
	raws := make([][]byte, len(cases))
	rendered := make([]emails.Rendered, len(cases))
	for i, c := range cases {
		out, err := r.Render(c.msg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		raws[i], rendered[i] = out.Raw, out
	}
	parsed := validate(t, raws)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, got := c.msg, parsed[i]
			if got.Error != "" {
				t.Fatalf("mailparser: %s", got.Error)
			}
			if got.Subject != rendered[i].Subject {
				t.Errorf("subject %q, want %q", got.Subject, rendered[i].Subject)
			}
			if len(got.From) != 1 || got.From[0] != (nodeAddress{m.Group.From.Name, m.Group.From.Address}) {
				t.Errorf("from %+v", got.From)
			}
			if len(got.To) != 1 || got.To[0] != (nodeAddress{m.Member.Name, m.Member.Email}) {
				t.Errorf("to %+v, want %q <%s>", got.To, m.Member.Name, m.Member.Email)
			}
			if len(got.ReplyTo) != 2 || got.ReplyTo[0] != (nodeAddress{"Ann Organizer", "ann@afterparty.example"}) || got.ReplyTo[1].Address != "bob@afterparty.example" {
				t.Errorf("reply-to %+v", got.ReplyTo)
			}
			if d, err := time.Parse(time.RFC3339Nano, got.Date); err != nil || !d.Equal(m.Now) {
				t.Errorf("date %q, want %v", got.Date, m.Now.UTC())
			}
			if !strings.HasSuffix(got.MessageID, "@afterparty.example>") {
				t.Errorf("message id %q", got.MessageID)
			}
			if h := got.Headers["list-unsubscribe"]; len(h) != 1 || h[0] != "<"+m.Links.UnsubscribeOneClick+">" {
				t.Errorf("List-Unsubscribe %q", h)
			}
			if got.List["unsubscribe"]["url"] != m.Links.UnsubscribeOneClick {
				t.Errorf("mailparser's list.unsubscribe %v", got.List["unsubscribe"])
			}
			if h := got.Headers["list-unsubscribe-post"]; len(h) != 1 || h[0] != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post %q", h)
			}
			if h := got.Headers["mime-version"]; len(h) != 1 || h[0] != "1.0" {
				t.Errorf("MIME-Version %q", h)
			}

			htm := html.UnescapeString(got.HTML)
			for _, l := range append(c.links(m.Links), m.Links.Unsubscribe) {
				if !strings.Contains(got.Text, l) {
					t.Errorf("text lacks %s", l)
				}
				if !strings.Contains(htm, l) {
					t.Errorf("HTML lacks %s", l)
				}
			}
			if !strings.Contains(got.Text, m.Meeting.Title) || !strings.Contains(htm, m.Meeting.Title) {
				t.Errorf("title %q missing from a body", m.Meeting.Title)
			}
			if strings.Contains(got.HTML, "<script>") {
				t.Errorf("HTML has an unescaped <script>")
			}

			if c.method == "" {
				if len(got.Attachments) != 0 {
					t.Errorf("attachments %+v, want none", got.Attachments)
				}
				return
			}
			if len(got.Attachments) != 2 {
				t.Fatalf("%d attachments, want the text/calendar part and invite.ics", len(got.Attachments))
			}
			inline, file := got.Attachments[0], got.Attachments[1]
			if inline.ContentType != "text/calendar" || inline.ContentTypeParams["method"] != c.method {
				t.Errorf("calendar part %s %v", inline.ContentType, inline.ContentTypeParams)
			}
			if file.Filename == nil || *file.Filename != "invite.ics" || file.ContentDisposition == nil || *file.ContentDisposition != "attachment" {
				t.Errorf("invite.ics attachment %+v", file)
			}
			for _, a := range []nodeAttachment{inline, file} {
				checkCalendar(t, a.Calendar, m, c.method)
			}
		})
	}
}

// checkCalendar compares what ical.js read with the meeting and member it was made for.
func checkCalendar(t *testing.T, cal *nodeCalendar, m emails.Message, method string) {
	t.Helper()
	if cal == nil || cal.Error != "" {
		t.Fatalf("ical.js could not read the calendar: %+v", cal)
	}
	if cal.Method != method || cal.Version != "2.0" || cal.Calscale != "GREGORIAN" || cal.Prodid == "" {
		t.Errorf("calendar METHOD %q VERSION %q CALSCALE %q PRODID %q", cal.Method, cal.Version, cal.Calscale, cal.Prodid)
	}
	zone := m.Meeting.Location.String()
	if len(cal.Timezones) != 1 || cal.Timezones[0] != zone {
		t.Errorf("VTIMEZONEs %q, want %s", cal.Timezones, zone)
	}
	// Every zone these tests use has daylight saving in the meeting's year: its
	// VTIMEZONE has a STANDARD and a DAYLIGHT observance (python-icalendar 4.0.3
	// cannot convert one without a STANDARD).
	kinds := map[string]bool{}
	for _, k := range cal.Observances[zone] {
		kinds[k] = true
	}
	if !kinds["standard"] || !kinds["daylight"] {
		t.Errorf("VTIMEZONE %s observances %q, want a standard and a daylight", zone, cal.Observances[zone])
	}
	if len(cal.Events) != 1 {
		t.Fatalf("%d events", len(cal.Events))
	}
	ev := cal.Events[0]
	instant := func(field, s string, want time.Time) {
		t.Helper()
		got, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s %q, want %s", field, s, want.UTC().Format(time.RFC3339))
		}
	}
	instant("DTSTART", ev.Dtstart, m.Meeting.Start)
	instant("DTEND", ev.Dtend, m.Meeting.End)
	instant("DTSTAMP", ev.Dtstamp, m.Now)
	if ev.DtstartZone == nil || *ev.DtstartZone != zone || ev.DtendZone == nil || *ev.DtendZone != zone {
		deref := func(s *string) string {
			if s == nil {
				return "floating"
			}
			return *s
		}
		t.Errorf("DTSTART/DTEND zones %s %s, want %s from the VTIMEZONE", deref(ev.DtstartZone), deref(ev.DtendZone), zone)
	}
	if want := m.Meeting.ID + "@afterparty.example"; ev.UID != want {
		t.Errorf("UID %q, want %q", ev.UID, want)
	}
	if ev.Sequence != m.Sequence {
		t.Errorf("SEQUENCE %d, want %d", ev.Sequence, m.Sequence)
	}
	if ev.Summary != m.Meeting.Title {
		t.Errorf("SUMMARY %q, want %q", ev.Summary, m.Meeting.Title)
	}
	if want := m.Meeting.Venue + ", " + m.Meeting.VenueAddress; ev.Location != want {
		t.Errorf("LOCATION %q, want %q", ev.Location, want)
	}
	if ev.URL != m.Links.MeetingPage {
		t.Errorf("URL %q", ev.URL)
	}
	wantStatus := map[string]string{"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}[method]
	if ev.Status != wantStatus {
		t.Errorf("STATUS %q, want %q", ev.Status, wantStatus)
	}
	if method == "REQUEST" {
		if !strings.Contains(ev.Description, m.Links.Yes) {
			t.Errorf("DESCRIPTION lacks the Yes link: %q", ev.Description)
		}
		if m.Meeting.Topic != "" && !strings.Contains(ev.Description, m.Meeting.Topic) {
			t.Errorf("DESCRIPTION lacks the topic: %q", ev.Description)
		}
	}
	organizer, rsvp := m.Group.From, "FALSE"
	if m.Organizer != nil {
		organizer, rsvp = *m.Organizer, "TRUE"
	}
	if o := ev.Organizer; o == nil || o.Value != "mailto:"+organizer.Address || o.Params["CN"] != organizer.Name {
		t.Errorf("ORGANIZER %+v, want %v", o, organizer)
	}
	wantAttendee := nodeCalAddress{Value: "mailto:" + m.Member.Email, Params: map[string]string{
		"CN": m.Member.Name, "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": rsvp,
	}}
	if len(ev.Attendees) != 1 {
		t.Fatalf("ATTENDEEs %+v", ev.Attendees)
	}
	a := ev.Attendees[0]
	if a.Value != wantAttendee.Value || len(a.Params) != len(wantAttendee.Params) {
		t.Errorf("ATTENDEE %+v, want %+v", a, wantAttendee)
	}
	for k, v := range wantAttendee.Params {
		if !strings.EqualFold(a.Params[k], v) || (k == "CN" && a.Params[k] != v) {
			t.Errorf("ATTENDEE %s=%q, want %q", k, a.Params[k], v)
		}
	}
}

// TestIndependentParsersUpdateAndCancel follows one meeting through its invitation,
// an update and a cancellation, as the invitations run sends them, and checks with
// npm mailparser and Mozilla's ical.js that every calendar names the same event
// (the original's UID), raises SEQUENCE, carries the right METHOD and STATUS and
// the meeting's times in its zone, and that the update says what changed.
func TestIndependentParsersUpdateAndCancel(t *testing.T) {
	tests := []struct {
		name        string
		zone, start string
		edit        func(m *emails.Message) // the original before it is sent
		change      func(m *group.Meeting)  // what organizers change before the update
		wantChanges []string
	}{
		{
			name: "moved from before to the day after DST ends", zone: "America/Los_Angeles", start: "2026-10-31T18:30",
			edit: func(*emails.Message) {},
			change: func(m *group.Meeting) {
				m.Start, m.End = m.Start.AddDate(0, 0, 2), m.End.AddDate(0, 0, 2) // 2026-11-02 18:30 PST
			},
			wantChanges: []string{"New time: Monday 2 November 2026, 18:30–20:30 PST (was Saturday 31 October 2026, 18:30–20:30 PDT)"},
		},
		{
			name: "the day after DST starts, new venue, separators and non-ASCII", zone: "Europe/Berlin", start: "2027-03-29T19:00",
			edit: func(m *emails.Message) {
				m.Meeting.Title = "Ünïcode, Tacos; & Go: \"Grüße\" \\ 東京"
				m.Meeting.Topic = string([]rune(strings.Repeat("Grüße, Tacos; und \\ Backslashes. ", 7))[:200]) // 200 characters
				m.Member.Name = `O'Brien, Ann "Annie"`
			},
			change: func(m *group.Meeting) {
				m.Venue, m.VenueAddress = "Café Zur Linde; Hinterzimmer", "Lindenstraße 1, 10969 Berlin"
			},
			wantChanges: []string{"New venue: Café Zur Linde; Hinterzimmer, Lindenstraße 1, 10969 Berlin (was Ada's Café, 12 Main St, Portland, OR 97214)"},
		},
	}
	r := renderer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			original := fixture(t, group.Invitation, tt.zone, tt.start)
			tt.edit(&original)

			update := original
			update.Now = original.Now.Add(24 * time.Hour)
			tt.change(&update.Meeting)
			update.Sequence, update.Changes = 1, emails.Changes(original.Meeting, update.Meeting)
			if !reflect.DeepEqual(update.Changes, tt.wantChanges) {
				t.Fatalf("Changes = %q, want %q", update.Changes, tt.wantChanges)
			}

			cancel := update
			cancel.Now = update.Now.Add(24 * time.Hour)
			before := cancel.Meeting
			cancel.Meeting.Status = group.StatusCancelled
			cancel.Sequence, cancel.Changes = 2, emails.Changes(before, cancel.Meeting)

			steps := []struct {
				msg                  emails.Message
				method, status, subj string
			}{
				{original, "REQUEST", "CONFIRMED", "You're invited: "},
				{update, "REQUEST", "CONFIRMED", "Updated: "},
				{cancel, "CANCEL", "CANCELLED", "Cancelled: "},
			}
			raws := make([][]byte, len(steps))
			for i, s := range steps {
				out, err := r.Render(s.msg)
				if err != nil {
					t.Fatal(err)
				}
				raws[i] = out.Raw
			}
			parsed := validate(t, raws)

			var uid string
			for i, s := range steps {
				got := parsed[i]
				if got.Error != "" {
					t.Fatalf("%s: mailparser: %s", s.subj, got.Error)
				}
				if !strings.HasPrefix(got.Subject, s.subj) || !strings.Contains(got.Subject, s.msg.Meeting.Title) {
					t.Errorf("subject %q, want %q and the title", got.Subject, s.subj)
				}
				if len(got.Attachments) != 2 {
					t.Fatalf("%s: %d attachments, want the text/calendar part and invite.ics", s.subj, len(got.Attachments))
				}
				if p := got.Attachments[0].ContentTypeParams["method"]; p != s.method {
					t.Errorf("%s: text/calendar method=%q, want %s", s.subj, p, s.method)
				}
				for _, a := range got.Attachments {
					checkCalendar(t, a.Calendar, s.msg, s.method)
					if a.Calendar == nil || len(a.Calendar.Events) != 1 {
						continue
					}
					ev := a.Calendar.Events[0]
					if uid == "" {
						uid = ev.UID
					}
					if ev.UID != uid {
						t.Errorf("%s: UID %q, the original's is %q", s.subj, ev.UID, uid)
					}
					if ev.Status != s.status || ev.Sequence != s.msg.Sequence {
						t.Errorf("%s: STATUS %q SEQUENCE %d, want %s %d", s.subj, ev.Status, ev.Sequence, s.status, s.msg.Sequence)
					}
					if s.msg.Changes != nil && s.method == "REQUEST" {
						for _, c := range s.msg.Changes {
							if !strings.Contains(ev.Description, c) {
								t.Errorf("%s: DESCRIPTION lacks %q", s.subj, c)
							}
						}
					}
				}
				htm := html.UnescapeString(got.HTML)
				for _, c := range s.msg.Changes {
					if s.method != "REQUEST" {
						break
					}
					if !strings.Contains(got.Text, c) || !strings.Contains(htm, c) {
						t.Errorf("%s: a body lacks the change %q", s.subj, c)
					}
				}
				if s.method == "REQUEST" {
					for _, l := range []string{s.msg.GoogleCalendarURL(), s.msg.OutlookURL(), s.msg.Links.Calendar} {
						if !strings.Contains(got.Text, l) || !strings.Contains(htm, l) {
							t.Errorf("%s: a body lacks the add-to-calendar link %s", s.subj, l)
						}
					}
				}
			}
			if uid != original.Meeting.ID+"@afterparty.example" {
				t.Errorf("UID %q", uid)
			}
		})
	}
}
