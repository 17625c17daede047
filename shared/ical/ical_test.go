package ical

import (
	"bytes"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"github.com/afterparty/afterparty/shared/group"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func meeting(t testing.TB, zoneName, start string, minutes int) group.Meeting {
	t.Helper()
	loc := zone(t, zoneName)
	s, err := time.ParseInLocation("2006-01-02T15:04", start, loc)
	if err != nil {
		t.Fatal(err)
	}
	return group.Meeting{
		ID:           "2026-12-10",
		Title:        "Go and the Art of Tiny Binaries",
		Start:        s,
		End:          s.Add(time.Duration(minutes) * time.Minute),
		Location:     loc,
		Venue:        "Back room, Ada's Café",
		VenueAddress: "12 Main St; Portland, OR",
		Status:       group.StatusScheduled,
	}
}

func invite(t testing.TB, method string) Invite {
	t.Helper()
	return Invite{
		Method:      method,
		Meeting:     meeting(t, "America/Los_Angeles", "2026-12-10T18:30", 120),
		Organizer:   mail.Address{Name: "Rose City Gophers", Address: "organizers@afterparty.example"},
		Attendee:    &group.Member{ID: "m1", Name: "Ann O'Brien", Email: "ann@example.com", Status: group.MemberActive},
		Sequence:    2,
		Stamp:       time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
		Description: "Say yes: https://afterparty.example/r/abc",
		URL:         "https://afterparty.example/m/2026-12-10",
		UIDDomain:   "afterparty.example",
		RSVP:        true,
	}
}

// contentLines checks RFC 5545 §3.1 framing (CRLF endings, lines of at most 75
// octets, valid UTF-8 on every physical line) and returns the unfolded lines.
func contentLines(t testing.TB, b []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("calendar does not end with CRLF")
	}
	physical := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	var lines []string
	for n, l := range physical {
		switch {
		case strings.ContainsAny(l, "\r\n"):
			t.Fatalf("line %d has a bare CR or LF: %q", n+1, l)
		case len(l) > 75:
			t.Fatalf("line %d is %d octets long: %q", n+1, len(l), l)
		case !utf8.ValidString(l):
			t.Fatalf("line %d splits a UTF-8 sequence: %q", n+1, l)
		case l == "":
			t.Fatalf("line %d is empty", n+1)
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(lines) == 0 {
				t.Fatalf("first line is a continuation")
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// props returns the unfolded lines of property name (with its parameters), in order.
func props(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, name+":") || strings.HasPrefix(l, name+";") {
			out = append(out, l)
		}
	}
	return out
}

// events returns only the lines inside VEVENTs.
func events(lines []string) []string {
	var out []string
	in := false
	for _, l := range lines {
		switch l {
		case "BEGIN:VEVENT":
			in = true
		case "END:VEVENT":
			in = false
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}

func one(t testing.TB, lines []string, name string) string {
	t.Helper()
	ps := props(lines, name)
	if len(ps) != 1 {
		t.Fatalf("want one %s line, got %q", name, ps)
	}
	return ps[0]
}

func TestInviteBytes(t *testing.T) {
	cancelled := invite(t, MethodCancel)
	cancelled.Meeting.Status = group.StatusCancelled
	publish := invite(t, MethodPublish)
	publish.Attendee = nil

	tests := []struct {
		name     string
		in       Invite
		want     []string // exact unfolded lines
		attendee bool
	}{
		{
			name: "request",
			in:   invite(t, MethodRequest),
			want: []string{
				"METHOD:REQUEST", "STATUS:CONFIRMED",
				`ATTENDEE;CN="Ann O'Brien";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:ann@example.com`,
			},
			attendee: true,
		},
		{
			name: "request whose replies nobody reads",
			in:   func() Invite { i := invite(t, MethodRequest); i.RSVP = false; return i }(),
			want: []string{
				`ATTENDEE;CN="Ann O'Brien";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:ann@example.com`,
			},
			attendee: true,
		},
		{
			name:     "cancel",
			in:       cancelled,
			want:     []string{"METHOD:CANCEL", "STATUS:CANCELLED"},
			attendee: true,
		},
		{
			name: "publish",
			in:   publish,
			want: []string{"METHOD:PUBLISH", "STATUS:CONFIRMED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			lines := contentLines(t, b)
			want := append([]string{
				"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:" + ProductID, "CALSCALE:GREGORIAN",
				"BEGIN:VTIMEZONE", "TZID:America/Los_Angeles", "BEGIN:VEVENT",
				"UID:2026-12-10@afterparty.example",
				"SEQUENCE:2",
				"DTSTAMP:20261126T090000Z",
				"DTSTART;TZID=America/Los_Angeles:20261210T183000",
				"DTEND;TZID=America/Los_Angeles:20261210T203000",
				"SUMMARY:Go and the Art of Tiny Binaries",
				`LOCATION:Back room\, Ada's Café\, 12 Main St\; Portland\, OR`,
				"DESCRIPTION:Say yes: https://afterparty.example/r/abc",
				"URL:https://afterparty.example/m/2026-12-10",
				`ORGANIZER;CN="Rose City Gophers":mailto:organizers@afterparty.example`,
				"END:VEVENT", "END:VCALENDAR",
			}, tt.want...)
			for _, w := range want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("missing line %q in\n%s", w, b)
				}
			}
			if got := len(props(lines, "ATTENDEE")); (got == 1) != tt.attendee || got > 1 {
				t.Errorf("%d ATTENDEE lines; want attendee=%v", got, tt.attendee)
			}
			if lines[0] != "BEGIN:VCALENDAR" || lines[len(lines)-1] != "END:VCALENDAR" {
				t.Errorf("not one VCALENDAR: %q ... %q", lines[0], lines[len(lines)-1])
			}

			cal, err := ics.ParseCalendar(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("golang-ical cannot parse it back: %v", err)
			}
			if n := len(cal.Events()); n != 1 {
				t.Fatalf("%d events", n)
			}
		})
	}
}

func TestTextEscaping(t *testing.T) {
	tests := []struct {
		name, title, description string
		wantSummary, wantDesc    string
	}{
		{
			name:        "commas semicolons and non-ASCII",
			title:       "Ünïcode, Tacos; & Go",
			description: "Bring a friend, a laptop; and C:\\ nostalgia",
			wantSummary: `SUMMARY:Ünïcode\, Tacos\; & Go`,
			wantDesc:    `DESCRIPTION:Bring a friend\, a laptop\; and C:\\ nostalgia`,
		},
		{
			name:        "line breaks of every kind become \\n and no raw CR survives",
			title:       "Line\r\nbreak",
			description: "one\r\ntwo\rthree\nfour\tfive\x00\x07",
			wantSummary: "SUMMARY:Line break",
			wantDesc:    `DESCRIPTION:one\ntwo\nthree\nfour five`,
		},
		{
			name:        "script",
			title:       `<script>&"`,
			description: `"quoted"`,
			wantSummary: `SUMMARY:<script>&"`,
			wantDesc:    `DESCRIPTION:"quoted"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			in.Meeting.Title = tt.title
			in.Description = tt.description
			b, err := in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			lines := contentLines(t, b)
			if got := one(t, lines, "SUMMARY"); got != tt.wantSummary {
				t.Errorf("got %q, want %q", got, tt.wantSummary)
			}
			if got := one(t, lines, "DESCRIPTION"); got != tt.wantDesc {
				t.Errorf("got %q, want %q", got, tt.wantDesc)
			}
		})
	}
}

func TestFoldingKeepsUTF8Whole(t *testing.T) {
	tests := []struct {
		name, description string
	}{
		{"200 two-byte runes", strings.Repeat("é", 200)},
		{"200 mixed with emoji and no spaces", strings.Repeat("a🍺ü", 67)[:200]},
		{"200 ASCII words", strings.Repeat("pub quiz ", 23)[:200]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			in.Description = strings.ToValidUTF8(tt.description, "")
			b, err := in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			lines := contentLines(t, b)
			want := "DESCRIPTION:" + ics.ToText(cleanText(in.Description))
			if got := one(t, lines, "DESCRIPTION"); got != want {
				t.Errorf("unfolded DESCRIPTION\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestCalAddressQuoting(t *testing.T) {
	tests := []struct {
		name, cn, want string
	}{
		{"comma and apostrophe", "O'Brien, Ann", `CN="O'Brien, Ann"`},
		{"colon and semicolon", "Go: Portland; PDX", `CN="Go: Portland; PDX"`},
		{"double quote uses RFC 6868", `Ann "Annie" ^_^`, `CN="Ann ^'Annie^' ^^_^^"`},
		{"line break cannot start a new property", "Eve\r\nATTENDEE:mailto:x@evil.example", `CN="Eve ATTENDEE:mailto:x@evil.example"`},
		{"backslashes are kept verbatim", `Back\slash C:\new\`, `CN="Back\slash C:\new\"`},
		{"no name, no CN", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			in.Attendee.Name = tt.cn
			b, err := in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			lines := contentLines(t, b)
			att := one(t, lines, "ATTENDEE")
			if tt.want == "" {
				if strings.Contains(att, "CN=") {
					t.Errorf("empty name gave %q", att)
				}
				return
			}
			if !strings.HasPrefix(att, "ATTENDEE;"+tt.want+";") {
				t.Errorf("got %q, want it to start with ATTENDEE;%s;", att, tt.want)
			}
			if !strings.HasSuffix(att, ":mailto:ann@example.com") {
				t.Errorf("attendee address lost: %q", att)
			}
		})
	}
}

// observances are a VTIMEZONE's periods as RFC 5545 §3.6.5 defines them.
type observanceLine struct {
	onset    time.Time // UTC instant the observance begins
	from, to int       // seconds east of UTC
}

func parseOffset(t testing.TB, s string) int {
	t.Helper()
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	return sign * (h*3600 + m*60 + sec)
}

// resolve turns a DTSTART/DTEND line into an instant using only the calendar's own
// VTIMEZONE (not Go's tz database), as a calendar client would.
func resolve(t testing.TB, lines []string, line string) time.Time {
	t.Helper()
	head, value, _ := strings.Cut(line, ":")
	if strings.HasSuffix(value, "Z") {
		u, err := time.Parse(utcLayout, value)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	_, id, ok := strings.Cut(head, ";TZID=")
	if !ok {
		t.Fatalf("floating time %q", line)
	}
	var obs []observanceLine
	in := false
	var cur observanceLine
	var onset string
	for _, l := range lines {
		switch {
		case l == "TZID:"+id:
			in = true
		case in && l == "END:VTIMEZONE":
			in = false
		case in && strings.HasPrefix(l, "DTSTART:"):
			onset = strings.TrimPrefix(l, "DTSTART:")
		case in && strings.HasPrefix(l, "TZOFFSETFROM:"):
			cur.from = parseOffset(t, strings.TrimPrefix(l, "TZOFFSETFROM:"))
		case in && strings.HasPrefix(l, "TZOFFSETTO:"):
			cur.to = parseOffset(t, strings.TrimPrefix(l, "TZOFFSETTO:"))
		case in && (l == "END:STANDARD" || l == "END:DAYLIGHT"):
			local, err := time.Parse(localLayout, onset)
			if err != nil {
				t.Fatal(err)
			}
			cur.onset = local.Add(-time.Duration(cur.from) * time.Second)
			obs = append(obs, cur)
			cur = observanceLine{}
		}
	}
	if len(obs) == 0 {
		t.Fatalf("no VTIMEZONE %q for %q", id, line)
	}
	local, err := time.Parse(localLayout, value)
	if err != nil {
		t.Fatal(err)
	}
	// The observance in effect is the one whose period holds the instant.
	var got time.Time
	for i, o := range obs {
		candidate := local.Add(-time.Duration(o.to) * time.Second)
		if candidate.Before(o.onset) || (i+1 < len(obs) && !candidate.Before(obs[i+1].onset)) {
			continue
		}
		got = candidate
		break // RFC 5545 §3.3.5: a local time that occurs twice means the first
	}
	if got.IsZero() {
		t.Fatalf("%q is outside the VTIMEZONE's observances %+v", line, obs)
	}
	return got
}

func TestTimeZones(t *testing.T) {
	tests := []struct {
		name          string
		zone, start   string
		minutes       int
		wantStart     string // the DTSTART line
		wantUTC       time.Time
		wantDaylight  bool
		wantStandards int // at least
	}{
		{
			name: "day after DST ends in Los Angeles", zone: "America/Los_Angeles", start: "2026-11-02T18:30", minutes: 120,
			wantStart: "DTSTART;TZID=America/Los_Angeles:20261102T183000",
			wantUTC:   time.Date(2026, 11, 3, 2, 30, 0, 0, time.UTC), wantDaylight: true, wantStandards: 2,
		},
		{
			name: "the Sunday DST starts in Los Angeles", zone: "America/Los_Angeles", start: "2027-03-14T18:00", minutes: 120,
			wantStart: "DTSTART;TZID=America/Los_Angeles:20270314T180000",
			wantUTC:   time.Date(2027, 3, 15, 1, 0, 0, 0, time.UTC), wantDaylight: true, wantStandards: 2,
		},
		{
			name: "the Sunday DST starts in Berlin", zone: "Europe/Berlin", start: "2027-03-28T19:00", minutes: 120,
			wantStart: "DTSTART;TZID=Europe/Berlin:20270328T190000",
			wantUTC:   time.Date(2027, 3, 28, 17, 0, 0, 0, time.UTC), wantDaylight: true, wantStandards: 2,
		},
		{
			name: "the Sunday DST starts in Sydney", zone: "Australia/Sydney", start: "2027-10-03T18:00", minutes: 120,
			wantStart: "DTSTART;TZID=Australia/Sydney:20271003T180000",
			wantUTC:   time.Date(2027, 10, 3, 7, 0, 0, 0, time.UTC), wantDaylight: true, wantStandards: 1,
		},
		{
			name: "day after DST starts in Berlin", zone: "Europe/Berlin", start: "2026-03-30T19:00", minutes: 90,
			wantStart: "DTSTART;TZID=Europe/Berlin:20260330T190000",
			wantUTC:   time.Date(2026, 3, 30, 17, 0, 0, 0, time.UTC), wantDaylight: true, wantStandards: 2,
		},
		{
			name: "meeting across the change itself", zone: "America/Los_Angeles", start: "2026-11-01T00:30", minutes: 240,
			wantStart: "DTSTART;TZID=America/Los_Angeles:20261101T003000",
			wantUTC:   time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), wantDaylight: true, wantStandards: 1,
		},
		{
			name: "half-hour DST in Lord Howe", zone: "Australia/Lord_Howe", start: "2026-12-10T18:30", minutes: 120,
			wantStart: "DTSTART;TZID=Australia/Lord_Howe:20261210T183000",
			wantUTC:   time.Date(2026, 12, 10, 7, 30, 0, 0, time.UTC), wantDaylight: true, wantStandards: 1,
		},
		{
			name: "no DST in Tokyo", zone: "Asia/Tokyo", start: "2026-12-10T18:30", minutes: 120,
			wantStart: "DTSTART;TZID=Asia/Tokyo:20261210T183000",
			wantUTC:   time.Date(2026, 12, 10, 9, 30, 0, 0, time.UTC), wantStandards: 1,
		},
		{
			name: "UTC is written as UTC", zone: "UTC", start: "2026-12-10T18:30", minutes: 120,
			wantStart: "DTSTART:20261210T183000Z",
			wantUTC:   time.Date(2026, 12, 10, 18, 30, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			in.Meeting = meeting(t, tt.zone, tt.start, tt.minutes)
			b, err := in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			lines := contentLines(t, b)
			start := one(t, events(lines), "DTSTART")
			if tt.zone == "UTC" && len(props(lines, "TZID")) != 0 {
				t.Error("a UTC meeting has a VTIMEZONE")
			}
			if start != tt.wantStart {
				t.Errorf("got %q, want %q", start, tt.wantStart)
			}
			if got := resolve(t, lines, start); !got.Equal(tt.wantUTC) {
				t.Errorf("the VTIMEZONE puts DTSTART at %v, want %v", got.UTC(), tt.wantUTC)
			}
			end := one(t, events(lines), "DTEND")
			wantEnd := tt.wantUTC.Add(time.Duration(tt.minutes) * time.Minute)
			if got := resolve(t, lines, end); !got.Equal(wantEnd) {
				t.Errorf("the VTIMEZONE puts DTEND (%s) at %v, want %v", end, got.UTC(), wantEnd)
			}
			if got := len(props(lines, "TZOFFSETTO")) > 0 && strings.Contains(string(b), "BEGIN:DAYLIGHT"); got != tt.wantDaylight {
				t.Errorf("DAYLIGHT observance present = %v, want %v", got, tt.wantDaylight)
			}
			if got := strings.Count(string(b), "BEGIN:STANDARD"); got < tt.wantStandards {
				t.Errorf("%d STANDARD observances, want at least %d", got, tt.wantStandards)
			}
		})
	}
}

func TestUTCOffset(t *testing.T) {
	for _, tt := range []struct {
		seconds int
		want    string
	}{{0, "+0000"}, {-8 * 3600, "-0800"}, {5*3600 + 45*60, "+0545"}, {-(7*3600 + 52*60 + 58), "-075258"}} {
		t.Run(tt.want, func(t *testing.T) {
			if got := utcOffset(tt.seconds); got != tt.want {
				t.Errorf("utcOffset(%d) = %q", tt.seconds, got)
			}
		})
	}
}

func TestFeed(t *testing.T) {
	a := invite(t, MethodRequest) // Method and Attendee are ignored in a feed
	b := invite(t, MethodCancel)
	b.Meeting = meeting(t, "Europe/Berlin", "2027-01-14T19:00", 120)
	b.Meeting.ID = "2027-01-14"
	b.Meeting.Status = group.StatusCancelled
	c := invite(t, MethodPublish)
	c.Meeting = meeting(t, "America/Los_Angeles", "2027-06-10T18:30", 120)
	c.Meeting.ID = "2027-06-10"
	c.Attendee = nil

	out, err := Feed("Rose City Gophers, PDX", []Invite{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	lines := contentLines(t, out)
	for _, w := range []string{"METHOD:PUBLISH", `NAME:Rose City Gophers\, PDX`, `X-WR-CALNAME:Rose City Gophers\, PDX`} {
		if one(t, lines, strings.SplitN(w, ":", 2)[0]) != w {
			t.Errorf("missing %q", w)
		}
	}
	// RFC 7986 §5.7: VALUE=DURATION, once.
	if got := one(t, lines, "REFRESH-INTERVAL"); got != "REFRESH-INTERVAL;VALUE=DURATION:PT12H" {
		t.Errorf("got %q, want REFRESH-INTERVAL;VALUE=DURATION:PT12H", got)
	}
	if n := len(props(lines, "ATTENDEE")); n != 0 {
		t.Errorf("feed has %d attendees", n)
	}
	if got := props(lines, "TZID"); len(got) != 2 || got[0] != "TZID:America/Los_Angeles" || got[1] != "TZID:Europe/Berlin" {
		t.Errorf("VTIMEZONEs %q, want one each for Los Angeles and Berlin", got)
	}
	if got := props(lines, "UID"); len(got) != 3 {
		t.Errorf("UIDs %q", got)
	}
	if got := props(lines, "STATUS"); strings.Join(got, ",") != "STATUS:CONFIRMED,STATUS:CANCELLED,STATUS:CONFIRMED" {
		t.Errorf("STATUS lines %q", got)
	}
	// The Los Angeles VTIMEZONE spans December to June: both DST changes in between.
	for i, l := range props(events(lines), "DTSTART") {
		want := []time.Time{a.Meeting.Start, b.Meeting.Start, c.Meeting.Start}[i]
		if got := resolve(t, lines, l); !got.Equal(want) {
			t.Errorf("event %d starts at %v, want %v", i, got, want.UTC())
		}
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("golang-ical cannot parse the feed: %v", err)
	}
	if n := len(cal.Events()); n != 3 {
		t.Errorf("%d events", n)
	}

	empty, err := Feed("", nil)
	if err != nil {
		t.Fatal(err)
	}
	contentLines(t, empty)
}

func TestInviteErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Invite)
		want   string
	}{
		{"unknown method", func(i *Invite) { i.Method = "REPLY" }, "method"},
		{"request without attendee", func(i *Invite) { i.Attendee = nil }, "needs an attendee"},
		{"attendee address with a line break", func(i *Invite) { i.Attendee.Email = "ann@example.com\r\nX: y" }, "not a plain email address"},
		{"organizer without address", func(i *Invite) { i.Organizer.Address = "" }, "organizer"},
		{"no UID domain", func(i *Invite) { i.UIDDomain = "" }, "UID domain"},
		{"meeting id with space", func(i *Invite) { i.Meeting.ID = "a b" }, "meeting id"},
		{"ends before it starts", func(i *Invite) { i.Meeting.End = i.Meeting.Start }, "before it ends"},
		{"no DTSTAMP", func(i *Invite) { i.Stamp = time.Time{} }, "DTSTAMP"},
		{"blank title", func(i *Invite) { i.Meeting.Title = " \r\n" }, "no title"},
		{"relative URL", func(i *Invite) { i.URL = "/m/1" }, "URL"},
		{"URL with a line break", func(i *Invite) { i.URL = "https://x.example/\r\nATTENDEE:mailto:e@x" }, "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			tt.change(&in)
			_, err := in.Bytes()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzInvite(f *testing.F) {
	f.Add("Ünïcode, Tacos; & Go", strings.Repeat("long line ", 20), "Ada's Café", "O'Brien, Ann", false)
	f.Add(`<script>&"`, "a\r\nb\\c;d,e", "12 Main St; Portland", `Eve "Evil" \^`, true)
	f.Add(strings.Repeat("🍺", 60), strings.Repeat("é", 200), "\x00\x7f", "\r\n", false)
	f.Add("Called off; sorry, folks", "Cancelled. Sorry!", "", "Ann", true)
	f.Fuzz(func(t *testing.T, title, description, venue, name string, cancel bool) {
		method, status := MethodRequest, "CONFIRMED"
		if cancel {
			method, status = MethodCancel, "CANCELLED"
		}
		in := invite(t, method)
		in.Meeting.Title = title
		in.Meeting.Venue = venue
		in.Description = description
		in.Attendee.Name = name
		b, err := in.Bytes()
		if cleanLine(title) == "" {
			if err == nil {
				t.Fatal("an event without a title was written")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := contentLines(t, b)
		if n := strings.Count(string(b), "\r\nBEGIN:"); n < 3 {
			t.Fatalf("only %d components", n)
		}

		cal, err := ics.ParseCalendar(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("golang-ical cannot parse it back: %v\n%s", err, b)
		}
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("%d events", len(events))
		}
		e := events[0]
		check := func(prop ics.ComponentProperty, want string) {
			t.Helper()
			p := e.GetProperty(prop)
			switch {
			case want == "" && p != nil:
				t.Errorf("%s = %q, want none", prop, p.Value)
			case want != "" && p == nil:
				t.Errorf("%s missing, want %q", prop, want)
			case want != "" && p.Value != want:
				t.Errorf("%s = %q, want %q", prop, p.Value, want)
			}
		}
		check(ics.ComponentPropertySummary, cleanLine(title))
		check(ics.ComponentPropertyDescription, cleanText(description))
		check(ics.ComponentPropertyUniqueId, "2026-12-10@afterparty.example")
		check(ics.ComponentPropertyStatus, status)
		check(ics.ComponentPropertySequence, "2")
		if m := props(lines, "METHOD"); len(m) != 1 || m[0] != "METHOD:"+method {
			t.Errorf("METHOD lines %q, want METHOD:%s", m, method)
		}
		// The calendar parses to the same number of attendees it was given, whatever the name.
		att := props(lines, "ATTENDEE")
		if len(att) != 1 || !strings.HasSuffix(att[0], ":mailto:ann@example.com") {
			t.Errorf("ATTENDEE lines %q", att)
		}
		if got := fmt.Sprint(len(e.Attendees())); got != "1" {
			t.Errorf("golang-ical reads %s attendees", got)
		}
	})
}
