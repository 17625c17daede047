package group

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the tz database travels in every binary: AL2023's image does not matter
	"unicode/utf8"
)

// Value is one attribute of a schedule row as the organizer wrote it, before it is
// trusted: Type is "S" (text), "N" (number), "BOOL", or "other" (a list, a map, ...).
type Value struct {
	Type string
	Text string
}

// FeedWindow is how far back the group's calendar feed reaches.
const FeedWindow = 90 * 24 * time.Hour

// Row is one schedule row as read from YAML or from the schedule table.
type Row map[string]Value

// The schedule's attribute names: the public schema of DESIGN.md.
const (
	FieldMeetingID       = "meeting_id"
	FieldTitle           = "title"
	FieldStartsAt        = "starts_at"
	FieldEndsAt          = "ends_at"
	FieldDurationMinutes = "duration_minutes"
	FieldTimeZone        = "time_zone"
	FieldVenue           = "venue"
	FieldVenueAddress    = "venue_address"
	FieldSpeaker         = "speaker"
	FieldSpeakerIntro    = "speaker_intro"
	FieldTopic           = "topic"
	FieldIcebreaker      = "icebreaker"
	FieldPubName         = "pub_name"
	FieldPubAddress      = "pub_address"
	FieldPubURL          = "pub_url"
	FieldCapacity        = "capacity"
	FieldGuestsMax       = "guests_max"
	FieldStatus          = "status"
)

// Fields lists every schedule attribute in the order an organizer reads them.
var Fields = []string{
	FieldMeetingID, FieldTitle, FieldStartsAt, FieldEndsAt, FieldDurationMinutes, FieldTimeZone,
	FieldVenue, FieldVenueAddress, FieldSpeaker, FieldSpeakerIntro, FieldTopic, FieldIcebreaker,
	FieldPubName, FieldPubAddress, FieldPubURL, FieldCapacity, FieldStatus,
	FieldGuestsMax,
}

// NumberFields are stored as DynamoDB numbers.
var NumberFields = map[string]bool{FieldDurationMinutes: true, FieldCapacity: true, FieldGuestsMax: true}

// Problem is one thing wrong with a schedule row, named so an organizer can fix it.
type Problem struct {
	MeetingID string
	Field     string
	Message   string
	// RowVersion is the Version of the row the problem was found in, so organizers
	// are told once per bad version of a row.
	RowVersion string
}

func (p Problem) String() string {
	id := p.MeetingID
	if id == "" {
		id = "(no meeting_id)"
	}
	return fmt.Sprintf("%s: %s: %s", id, p.Field, p.Message)
}

// Problems is every problem found in a row or a schedule.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Version fingerprints a row's content, so "once per bad version of the row" and
// "what changed since the invitation" can be told apart from a rerun.
func (r Row) Version() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", k, r[k].Type, r[k].Text)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Limits on what a schedule field may hold.
const (
	maxShortField = 200  // titles, names, venues: they reach a Subject or a calendar line
	maxLongField  = 4000 // intros and topics
	localLayout   = "2006-01-02T15:04"
)

var longFields = map[string]bool{FieldSpeakerIntro: true, FieldTopic: true, FieldIcebreaker: true, FieldVenueAddress: true, FieldPubAddress: true}

// ParseMeeting validates a row against the schedule schema, with defaultZone the
// group's IANA zone. It returns every problem, not just the first.
func ParseMeeting(r Row, defaultZone string) (Meeting, Problems) {
	id := strings.TrimSpace(r[FieldMeetingID].Text)
	var ps Problems
	// reported is every field with a problem already: "is required" is not added
	// to a field that was given but refused (one problem per cause).
	reported := map[string]bool{}
	bad := func(field, format string, args ...any) {
		reported[field] = true
		ps = append(ps, Problem{MeetingID: id, Field: field, Message: fmt.Sprintf(format, args...)})
	}

	known := map[string]bool{}
	for _, f := range Fields {
		known[f] = true
	}
	for name := range r {
		if !known[name] {
			bad(name, "unknown field (known fields: %s)", strings.Join(Fields, ", "))
		}
	}

	text := func(field string) string {
		v, ok := r[field]
		if !ok {
			return ""
		}
		if v.Type != "S" && v.Type != "N" {
			bad(field, "must be text, got a %s", typeName(v.Type))
			return ""
		}
		s := strings.TrimSpace(v.Text)
		switch {
		case !utf8.ValidString(s):
			bad(field, "is not valid UTF-8 text")
			return ""
		case strings.ContainsAny(s, "\x00"):
			bad(field, "contains a NUL character")
			return ""
		case !longFields[field] && strings.ContainsAny(s, "\r\n"):
			bad(field, "contains a line break; keep it on one line")
			return ""
		case !longFields[field] && utf8.RuneCountInString(s) > maxShortField:
			bad(field, "is %d characters long; at most %d", utf8.RuneCountInString(s), maxShortField)
			return ""
		case utf8.RuneCountInString(s) > maxLongField:
			bad(field, "is %d characters long; at most %d", utf8.RuneCountInString(s), maxLongField)
			return ""
		}
		for _, c := range s {
			if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || invisible(c) {
				bad(field, "contains the control character %U", c)
				return ""
			}
		}
		if field == FieldIcebreaker && strings.ContainsAny(s, "\r\n") {
			bad(field, "contains a line break; keep the question on one line (it is the teaser's subject)")
			return ""
		}
		if tag := htmlTag.FindString(s); tag != "" {
			bad(field, "contains HTML (%q); write plain text: the emails do the formatting", tag)
			return ""
		}
		if ref := htmlRef.FindString(s); ref != "" {
			bad(field, "contains the HTML character reference %q; write the character itself", ref)
			return ""
		}
		return s
	}
	number := func(field string) (int, bool) {
		v, ok := r[field]
		if !ok {
			return 0, false
		}
		if v.Type != "S" && v.Type != "N" {
			bad(field, "must be a whole number, got a %s", typeName(v.Type))
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(v.Text))
		if err != nil {
			bad(field, "must be a whole number, got %q", v.Text)
			return 0, false
		}
		return n, true
	}

	m := Meeting{ID: id, Version: r.Version()}
	if p := MeetingIDProblem(id); p != "" {
		bad(FieldMeetingID, "%s", p)
	}
	m.Title = text(FieldTitle)
	if m.Title == "" && !reported[FieldTitle] {
		bad(FieldTitle, "is required")
	}

	zone := defaultZone
	if z := text(FieldTimeZone); z != "" {
		zone = z
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" || strings.EqualFold(zone, "local") {
		bad(FieldTimeZone, "%q is not an IANA time zone (e.g. Europe/Berlin, America/New_York)", zone)
		loc = time.UTC
	}
	m.Location = loc

	startText := text(FieldStartsAt)
	if startText == "" {
		if _, ok := r[FieldStartsAt]; !ok {
			bad(FieldStartsAt, "is required (local YYYY-MM-DDTHH:MM or RFC 3339)")
		}
	} else if t, err := parseTime(startText, loc); err != nil {
		bad(FieldStartsAt, "%v", err)
	} else {
		m.Start = t
	}

	endText := text(FieldEndsAt)
	minutes, hasMinutes := number(FieldDurationMinutes)
	switch {
	case endText != "" && hasMinutes:
		bad(FieldEndsAt, "give ends_at or duration_minutes, not both")
	case endText != "":
		if t, err := parseTime(endText, loc); err != nil {
			bad(FieldEndsAt, "%v", err)
		} else {
			m.End = t
		}
	case hasMinutes && (minutes <= 0 || minutes > 24*60):
		bad(FieldDurationMinutes, "must be between 1 and 1440 minutes, got %d", minutes)
	case hasMinutes:
		m.End = m.Start.Add(time.Duration(minutes) * time.Minute)
	default:
		m.End = m.Start.Add(120 * time.Minute)
	}
	if !m.Start.IsZero() && !m.End.IsZero() && !m.End.After(m.Start) {
		bad(FieldEndsAt, "the meeting must end after it starts (%s)", m.Start.Format(localLayout))
	}

	m.Venue = text(FieldVenue)
	// A venue that was given but refused (HTML, a line break...) has its own problem.
	if m.Venue == "" && !reported[FieldVenue] && strings.ToLower(strings.TrimSpace(r[FieldStatus].Text)) != StatusCancelled {
		bad(FieldVenue, "is required: members need to know where to go")
	}
	m.VenueAddress = text(FieldVenueAddress)
	m.Speaker = text(FieldSpeaker)
	m.SpeakerIntro = text(FieldSpeakerIntro)
	m.Topic = text(FieldTopic)
	m.Icebreaker = text(FieldIcebreaker)
	m.PubName = text(FieldPubName)
	m.PubAddress = text(FieldPubAddress)
	m.PubURL = text(FieldPubURL)
	if m.PubURL != "" {
		if u, err := url.Parse(m.PubURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(FieldPubURL, "must be an http(s) address, got %q", m.PubURL)
		}
	}
	if m.PubName == "" && (m.PubAddress != "" || m.PubURL != "") {
		bad(FieldPubName, "is empty but pub_address or pub_url is set: name the pub")
	}
	if c, ok := number(FieldCapacity); ok {
		if c < 0 {
			bad(FieldCapacity, "must be 0 (no limit) or more, got %d", c)
		}
		m.Capacity = c
	}
	if g, ok := number(FieldGuestsMax); ok {
		if g < 0 || g > MaxGuests {
			bad(FieldGuestsMax, "must be between 0 and %d guests per member, got %d", MaxGuests, g)
		}
		m.GuestsMax = g
	}
	m.Status = StatusScheduled
	if s := strings.ToLower(text(FieldStatus)); s != "" {
		if s != StatusScheduled && s != StatusCancelled {
			bad(FieldStatus, "must be %q or %q, got %q", StatusScheduled, StatusCancelled, s)
		}
		m.Status = s
	}
	for i := range ps {
		ps[i].RowVersion = m.Version
	}
	return m, ps
}

// htmlTag finds what a browser or mail client would read as markup: a tag, a
// closing tag, a comment or a declaration. "Go <3" and "a < b" are plain text.
var htmlTag = regexp.MustCompile(`<[A-Za-z/!?][^<>]{0,40}>?`)

// htmlRef finds an HTML character reference (&amp; &#60; &#x3c;): organizers write
// the character, and every email escapes it.
var htmlRef = regexp.MustCompile(`&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)

// MaxMeetingIDLength is the longest meeting id, in bytes.
const MaxMeetingIDLength = 64

// MeetingIDProblem says what is wrong with a meeting id ("" if nothing): the rule
// ParseMeeting applies, for whoever must tell a possible id from a mistake before
// looking it up (a page's URL).
func MeetingIDProblem(id string) string {
	switch {
	case id == "":
		return "is required"
	case len(id) > MaxMeetingIDLength || strings.ContainsAny(id, " /#?&%\\\"'<>\r\n\x00") || strings.IndexFunc(id, func(c rune) bool { return c < 0x20 || invisible(c) }) >= 0:
		return "must be at most 64 characters with no spaces, control characters or any of / # ? & % \\ \" ' < >"
	}
	return ""
}

// invisible reports characters that change how text reads without being seen:
// DEL and the C1 controls, the Unicode line and paragraph separators, and the
// bidirectional overrides and isolates that can make a link or a name read
// backwards.
func invisible(c rune) bool {
	return c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
		(c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
		c == 0x200e || c == 0x200f || c == 0x061c // LRM, RLM, ALM
}

// Unprintable reports a character that has no place in one line of text a person
// reads, such as a name: a C0 or C1 control (ESC included), DEL, a line or paragraph
// separator, or a bidirectional control (which makes text read otherwise than it is
// stored).
func Unprintable(c rune) bool { return c < 0x20 || invisible(c) }

// PastStart reports a meeting that starts before now. ParseMeeting does not check
// it, because a schedule kept in git keeps its history: a past meeting already in
// the table, unchanged, is fine. `schedule validate` and `schedule apply` check new
// and changed rows with it.
func PastStart(m Meeting, now time.Time) (Problem, bool) {
	if m.Start.IsZero() || !m.Start.Before(now) {
		return Problem{}, false
	}
	return Problem{
		MeetingID:  m.ID,
		Field:      FieldStartsAt,
		Message:    fmt.Sprintf("%s is in the past (now is %s); a new or changed meeting must start in the future", m.Start.Format("2006-01-02T15:04 MST"), now.In(m.Location).Format("2006-01-02T15:04 MST")),
		RowVersion: m.Version,
	}, true
}

// MaxYearsAhead is how far ahead of now a meeting may start. Further is a typo
// (2062 for 2026, 9999 for "some day"), and no invitation is due for years anyway.
const MaxYearsAhead = 5

// FarStart reports a meeting that starts more than MaxYearsAhead years after now.
// Like PastStart it needs now, so ParseMeeting does not check it: whoever reads the
// schedule at a known time does (the functions, the feed, the CLI).
func FarStart(m Meeting, now time.Time) (Problem, bool) {
	limit := now.In(m.Location).AddDate(MaxYearsAhead, 0, 0)
	if m.Start.IsZero() || !m.Start.After(limit) {
		return Problem{}, false
	}
	return Problem{
		MeetingID:  m.ID,
		Field:      FieldStartsAt,
		Message:    fmt.Sprintf("%s is more than %d years ahead (now is %s): check the year", m.Start.Format("2006-01-02T15:04 MST"), MaxYearsAhead, now.In(m.Location).Format("2006-01-02T15:04 MST")),
		RowVersion: m.Version,
	}, true
}

func typeName(t string) string {
	switch t {
	case "S":
		return "text"
	case "N":
		return "number"
	case "BOOL":
		return "true/false value"
	}
	return "list or map"
}

// parseTime reads a local wall-clock time (YYYY-MM-DDTHH:MM, optionally with :SS) in
// loc, or an RFC 3339 time with its own offset.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{localLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			// A wall time that does not exist (skipped by a DST change) would silently move.
			if t.Hour() != mustAtoi(s[11:13]) {
				return time.Time{}, fmt.Errorf("%q does not exist in %s (clocks skip it for daylight saving)", s, loc)
			}
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use local YYYY-MM-DDTHH:MM (e.g. 2026-12-10T18:30) or RFC 3339", s)
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
