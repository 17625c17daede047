package group

import (
	"strings"
	"testing"
	"time"
)

// TestParseMeetingRefusesWhatMustNotReachMembers covers the checks an organizer's
// mistake meets before anything is sent: HTML, a missing venue, header injection.
func TestParseMeetingRefusesWhatMustNotReachMembers(t *testing.T) {
	cases := []struct {
		name  string
		field string
		value Value
		want  string // in the problem's message; "" means the row is valid
	}{
		{"script in title", FieldTitle, s("Hi <script>alert(1)</script>"), "contains HTML"},
		{"bold in pub name", FieldPubName, s("<b>The Crown</b>"), "contains HTML"},
		{"closing tag", FieldVenue, s("Hall</td>"), "contains HTML"},
		{"comment", FieldTopic, s("x <!-- y -->"), "contains HTML"},
		{"img in intro", FieldSpeakerIntro, s("Rob\n<img src=x onerror=alert(1)>"), "contains HTML"},
		{"link", FieldIcebreaker, s(`<a href="javascript:alert(1)">x</a>?`), "contains HTML"},
		{"markup in a url", FieldPubURL, s("https://example.org/<svg/onload=alert(1)>"), "contains HTML"},
		{"heart is text", FieldTitle, s("Go <3"), ""},
		{"comparison is text", FieldTopic, s("when a < b and c > d"), ""},
		{"ampersand is text", FieldVenue, s("Fish & Chips"), ""},
		{"no venue", FieldVenue, s(""), "venue: is required"},
		{"venue of a list", FieldVenue, Value{Type: "other"}, "must be text"},
		{"line break in venue", FieldVenue, s("Hall\r\nBcc: x@example.org"), "line break"},
		{"NUL in topic", FieldTopic, s("a\x00b"), "NUL"},
		{"capacity -3", FieldCapacity, n("-3"), "0 (no limit) or more"},
		{"entity", FieldTitle, s("Fish &amp; Chips"), "character reference"},
		{"numeric entity", FieldVenue, s("&#60;script&#62;"), "character reference"},
		{"bare ampersand is text", FieldTitle, s("Q&A; then the pub"), ""},
		{"right-to-left override", FieldSpeaker, s("Rob \u202egnp.exe"), "control character"},
		{"line separator", FieldTitle, s("a\u2028b"), "control character"},
		{"C1 control", FieldPubName, s("The\u0085Crown"), "control character"},
		{"emoji with joiner is text", FieldTitle, s("Gophers \U0001F469\u200D\U0001F4BB"), ""},
		{"line break in icebreaker", FieldIcebreaker, s("What?\r\nBcc: x@example.org"), "one line"},
		{"tab in meeting id", FieldMeetingID, s("a\tb"), "meeting_id"},
		{"capacity as text", FieldCapacity, s("forty"), "whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validRow()
			r[c.field] = c.value
			_, ps := ParseMeeting(r, "America/Los_Angeles")
			if c.want == "" {
				if len(ps) > 0 {
					t.Fatalf("problems for a valid value: %v", ps)
				}
				return
			}
			if !strings.Contains(ps.Error(), c.want) || !strings.Contains(ps.Error(), r[FieldMeetingID].Text+": ") {
				t.Fatalf("problems %q, want one naming the meeting and %q", ps.Error(), c.want)
			}
			for _, p := range ps {
				if p.RowVersion != r.Version() || p.MeetingID != r[FieldMeetingID].Text {
					t.Errorf("problem %+v does not carry the row's id and version %s", p, r.Version())
				}
			}
		})
	}
}

func TestCancelledMeetingNeedsNoVenue(t *testing.T) {
	r := validRow()
	delete(r, FieldVenue)
	r[FieldStatus] = s("cancelled")
	if _, ps := ParseMeeting(r, "UTC"); len(ps) > 0 {
		t.Fatalf("a cancelled meeting without a venue: %v", ps)
	}
}

func TestPastStart(t *testing.T) {
	m, ps := ParseMeeting(validRow(), "America/Los_Angeles") // 2026-12-10T18:30 PST
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	cases := []struct {
		now  time.Time
		past bool
	}{
		{m.Start.Add(-time.Minute), false},
		{m.Start, false},
		{m.Start.Add(time.Minute), true},
		{m.Start.AddDate(1, 0, 0), true},
	}
	for _, c := range cases {
		p, past := PastStart(m, c.now)
		if past != c.past {
			t.Errorf("now %v: past = %v, want %v", c.now, past, c.past)
		}
		if past && (p.Field != FieldStartsAt || !strings.Contains(p.Message, "in the past") || p.MeetingID != m.ID) {
			t.Errorf("problem %+v", p)
		}
	}
}

func TestFarStart(t *testing.T) {
	m, ps := ParseMeeting(validRow(), "America/Los_Angeles") // 2026-12-10T18:30 PST
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	cases := []struct {
		name string
		now  time.Time
		far  bool
	}{
		{"a year ahead", m.Start.AddDate(-1, 0, 0), false},
		{"exactly five years ahead", m.Start.AddDate(-5, 0, 0), false},
		{"five years and a minute ahead", m.Start.AddDate(-5, 0, 0).Add(-time.Minute), true},
		{"a typo for 9999", m.Start.AddDate(-7973, 0, 0), true},
		{"in the past", m.Start.AddDate(1, 0, 0), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, far := FarStart(m, c.now)
			if far != c.far {
				t.Fatalf("now %v: far = %v, want %v", c.now, far, c.far)
			}
			if far && (p.Field != FieldStartsAt || p.MeetingID != m.ID || p.RowVersion != m.Version ||
				!strings.Contains(p.Message, "2026-12-10T18:30 PST is more than 5 years ahead")) {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

func TestDigestDue(t *testing.T) {
	m, _ := ParseMeeting(validRow(), "UTC")
	cases := []struct {
		at   time.Duration // relative to the start
		due  bool
		name string
	}{
		{-25 * time.Hour, false, ""},
		{-24 * time.Hour, true, "digest-24h"},
		{-4 * time.Hour, true, "digest-24h"},
		{-3 * time.Hour, true, "digest-3h"},
		{-time.Minute, true, "digest-3h"},
		{0, false, ""},
	}
	for _, c := range cases {
		i, due, why := DigestDue(m, m.Start.Add(c.at))
		if due != c.due || (due && Digests[i].Name != c.name) || (!due && why == "") {
			t.Errorf("at start%+v: %d %v %q, want due %v %s", c.at, i, due, why, c.due, c.name)
		}
	}
}
