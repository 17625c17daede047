// Package ical builds a meeting's calendar data: the iTIP invitation (REQUEST) and
// cancellation (CANCEL) sent with emails, and the group's public PUBLISH feed. It
// uses github.com/arran4/golang-ical for the calendar model, escaping and folding,
// and works around the few places where v0.3.4 does not follow RFC 5545 (see
// calAddress, cleanText and serialize).
package ical

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"github.com/afterparty/afterparty/shared/group"
)

// iTIP methods (RFC 5546).
const (
	MethodRequest = "REQUEST" // an invitation or an update to it
	MethodCancel  = "CANCEL"  // the meeting is called off
	MethodPublish = "PUBLISH" // a feed or a download: no attendees, no replies
)

// ProductID is the PRODID of every calendar afterparty writes.
const ProductID = "-//afterparty//afterparty meeting invites//EN"

const (
	localLayout = "20060102T150405"  // DATE-TIME in a TZID's local time
	utcLayout   = "20060102T150405Z" // DATE-TIME in UTC
)

// Invite is one meeting as a calendar event, seen by one attendee (or by nobody in
// particular, for a feed).
type Invite struct {
	Method      string // MethodRequest or MethodCancel for an email; MethodPublish for a download
	Meeting     group.Meeting
	Organizer   mail.Address  // the From address of the group's emails
	Attendee    *group.Member // required for REQUEST and CANCEL; nil for a feed
	Sequence    int           // RFC 5545 SEQUENCE: raised on every change the attendee is told of
	Stamp       time.Time     // DTSTAMP: when this copy was made
	Description string        // plain text, e.g. with the member's RSVP link
	URL         string        // the meeting's page
	UIDDomain   string        // UID = <meeting id>@<UIDDomain>, stable for the meeting's life
	// RSVP asks the attendee's calendar to offer Yes / Maybe / No and send an
	// iMIP REPLY to Organizer (RSVP=TRUE). Set it only when Organizer is an address
	// whose mail is read (the reply domain); else answers would be lost.
	RSVP bool
}

// UID is the event's identifier: the same in the invitation, every update and the
// cancellation, so calendars update the event instead of adding another.
func (i Invite) UID() string { return i.Meeting.ID + "@" + i.UIDDomain }

// Bytes renders the invite as a complete VCALENDAR with CRLF line endings.
func (i Invite) Bytes() ([]byte, error) {
	if err := i.validate(i.Method); err != nil {
		return nil, err
	}
	cal := newCalendar(i.Method)
	tz, err := vtimezone(i.Meeting.Location, i.Meeting.Start, i.Meeting.End)
	if err != nil {
		return nil, fmt.Errorf("calendar invite for meeting %q: %w", i.Meeting.ID, err)
	}
	if tz != nil {
		cal.AddVTimezone(tz)
	}
	cal.AddVEvent(i.event(i.Method))
	return serialize(cal)
}

// Feed renders a METHOD:PUBLISH calendar named name with one event per invite and no
// attendees: the group's public calendar.ics. The invites' own Method and Attendee
// are ignored; a cancelled meeting stays in the feed with STATUS:CANCELLED so
// subscribers see it called off.
func Feed(name string, invites []Invite) ([]byte, error) {
	cal := newCalendar(MethodPublish)
	if name = cleanLine(name); name != "" {
		cal.SetName(name)
	}
	cal.SetRefreshInterval("PT12H") // golang-ical adds VALUE=DURATION itself
	cal.SetXPublishedTTL("PT12H")

	// One VTIMEZONE per zone, covering every event in it.
	type span struct {
		loc      *time.Location
		from, to time.Time
	}
	zones := map[string]*span{}
	for n, i := range invites {
		if err := i.validate(MethodPublish); err != nil {
			return nil, fmt.Errorf("feed event %d: %w", n, err)
		}
		if tzid(i.Meeting.Location) == "" {
			continue
		}
		s, ok := zones[tzid(i.Meeting.Location)]
		if !ok {
			s = &span{loc: i.Meeting.Location, from: i.Meeting.Start, to: i.Meeting.End}
			zones[tzid(i.Meeting.Location)] = s
		}
		if i.Meeting.Start.Before(s.from) {
			s.from = i.Meeting.Start
		}
		if i.Meeting.End.After(s.to) {
			s.to = i.Meeting.End
		}
	}
	names := make([]string, 0, len(zones))
	for id := range zones {
		names = append(names, id)
	}
	sort.Strings(names)
	for _, id := range names {
		s := zones[id]
		tz, err := vtimezone(s.loc, s.from, s.to)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		cal.AddVTimezone(tz)
	}
	for _, i := range invites {
		cal.AddVEvent(i.event(MethodPublish))
	}
	return serialize(cal)
}

func newCalendar(method string) *ics.Calendar {
	cal := ics.NewCalendarFor("afterparty")
	cal.SetProductId(ProductID)
	cal.SetMethod(ics.Method(method))
	cal.SetCalscale("GREGORIAN")
	return cal
}

// serialize writes cal with CRLF line endings: golang-ical's default on Unix is a
// bare LF, which RFC 5545 §3.1 does not allow. Lines are folded by the library at
// 75 octets on rune boundaries (tested in this package).
func serialize(cal *ics.Calendar) ([]byte, error) {
	var b bytes.Buffer
	if err := cal.SerializeTo(&b, ics.WithNewLineWindows, ics.WithLineLength(75)); err != nil {
		return nil, fmt.Errorf("write calendar: %w", err)
	}
	return b.Bytes(), nil
}

func (i Invite) validate(method string) error {
	m := i.Meeting
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch method {
	case MethodRequest, MethodCancel, MethodPublish:
	default:
		bad("method %q is not %s, %s or %s", method, MethodRequest, MethodCancel, MethodPublish)
	}
	if m.ID == "" || !isToken(m.ID) {
		bad("meeting id %q cannot be part of a UID", m.ID)
	}
	if i.UIDDomain == "" || !isToken(i.UIDDomain) || strings.Contains(i.UIDDomain, "@") {
		bad("UID domain %q must be a host name", i.UIDDomain)
	}
	if cleanLine(m.Title) == "" {
		bad("meeting %s has no title", m.ID)
	}
	if m.Start.IsZero() || m.End.IsZero() || !m.End.After(m.Start) {
		bad("meeting %s must start (%v) before it ends (%v)", m.ID, m.Start, m.End)
	}
	for _, t := range []time.Time{m.Start, m.End} {
		if t.IsZero() {
			continue
		}
		if m.Location != nil {
			t = t.In(m.Location)
		}
		if t.Year() < 1 || t.Year() > 9999 || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
			bad("meeting %s: %s is outside the years 0001 to 9999 that iCalendar can write", m.ID, t.Format(time.RFC3339))
		}
	}
	if i.Stamp.IsZero() {
		bad("DTSTAMP is not set")
	}
	if i.Sequence < 0 {
		bad("SEQUENCE %d is negative", i.Sequence)
	}
	if err := checkAddress(i.Organizer.Address); err != nil {
		bad("organizer: %v", err)
	}
	if method != MethodPublish {
		if i.Attendee == nil {
			bad("a %s needs an attendee", method)
		} else if err := checkAddress(i.Attendee.Email); err != nil {
			bad("attendee %s: %v", i.Attendee.ID, err)
		}
	}
	if i.URL != "" {
		if u, err := url.Parse(i.URL); err != nil || !u.IsAbs() || !isToken(i.URL) {
			bad("URL %q is not an absolute URL", i.URL)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("calendar invite for meeting %q: %w", m.ID, errors.Join(errs...))
	}
	return nil
}

func (i Invite) event(method string) *ics.VEvent {
	m := i.Meeting
	e := ics.NewEvent(i.UID())
	e.SetSequence(i.Sequence)
	e.SetDtStampTime(i.Stamp)
	setTime(e, ics.ComponentPropertyDtStart, m.Start, m.Location)
	setTime(e, ics.ComponentPropertyDtEnd, m.End, m.Location)
	e.SetSummary(cleanLine(m.Title))
	if loc := Location(m); loc != "" {
		e.SetLocation(loc)
	}
	if d := cleanText(i.Description); d != "" {
		e.SetDescription(d)
	}
	if i.URL != "" {
		e.SetURL(i.URL)
	}
	addCalAddress(e, ics.ComponentPropertyOrganizer, i.Organizer)
	if method != MethodPublish {
		addCalAddress(e, ics.ComponentPropertyAttendee,
			mail.Address{Name: i.Attendee.Name, Address: i.Attendee.Email},
			ics.ParticipationRoleReqParticipant,
			ics.ParticipationStatusNeedsAction,
			&ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{rsvp(i.RSVP)}},
		)
	}
	status := ics.ObjectStatusConfirmed
	if method == MethodCancel || m.Cancelled() {
		status = ics.ObjectStatusCancelled
	}
	e.SetStatus(status)
	e.SetTimeTransparency(ics.TransparencyOpaque)
	return e
}

func rsvp(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// Location is the event's LOCATION: venue and address on one line.
func Location(m group.Meeting) string {
	var parts []string
	for _, s := range []string{m.Venue, m.VenueAddress} {
		if s = cleanLine(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// tzid is the TZID a meeting's times are written in, or "" to write them in UTC
// (UTC itself, or a zone with no IANA name).
func tzid(loc *time.Location) string {
	if loc == nil {
		return ""
	}
	switch name := loc.String(); name {
	case "", "UTC", "Local":
		return ""
	default:
		if !isToken(name) {
			return ""
		}
		return name
	}
}

// setTime writes DTSTART or DTEND as local time with a TZID backed by the calendar's
// VTIMEZONE, so calendars show the organizer's wall-clock time across DST changes.
func setTime(e *ics.VEvent, prop ics.ComponentProperty, t time.Time, loc *time.Location) {
	id := tzid(loc)
	if id == "" || secondOccurrence(t.In(loc)) {
		e.SetProperty(prop, t.UTC().Format(utcLayout))
		return
	}
	e.SetProperty(prop, t.In(loc).Format(localLayout), ics.WithTZID(id))
}

// secondOccurrence reports whether t's wall-clock time came once already, in the
// hour clocks were set back. RFC 5545 §3.3.5 reads such a local time as its first
// occurrence, so t must be written in UTC.
func secondOccurrence(t time.Time) bool {
	start, err := onsetOf(t)
	if err != nil || start.IsZero() {
		return false
	}
	_, before := start.Add(-time.Second).Zone()
	_, now := t.Zone()
	return before > now && t.Before(start.Add(time.Duration(before-now)*time.Second))
}

// vtimezone describes loc over the whole local years from from's to to's, from
// Go's tz database: one STANDARD or DAYLIGHT observance per period, each with its
// own DTSTART (no RRULE is needed when every transition in the span is listed). It
// returns nil when times are written in UTC.
//
// Whole years, not just the event's own period, so that in a year with daylight
// saving both a STANDARD and a DAYLIGHT observance are there, as in Google's and
// Outlook's invites: an event on the Sunday DST starts would otherwise carry only
// a DAYLIGHT one, which is valid but which python-icalendar 4.0.3 cannot convert.
func vtimezone(loc *time.Location, from, to time.Time) (*ics.VTimezone, error) {
	id := tzid(loc)
	if id == "" {
		return nil, nil
	}
	from = time.Date(from.In(loc).Year(), time.January, 1, 0, 0, 0, 0, loc)
	to = time.Date(to.In(loc).Year()+1, time.January, 1, 0, 0, 0, 0, loc).Add(-time.Second)
	tz := ics.NewTimezone(id)
	t := from
	start, err := onsetOf(t)
	if err != nil {
		return nil, fmt.Errorf("time zone %s at %s: %w", id, t.Format(time.RFC3339), err)
	}
	for {
		tz.Components = append(tz.Components, observance(t, start))
		next, ok, err := nextChange(t, to.In(loc))
		if err != nil {
			return nil, fmt.Errorf("time zone %s after %s: %w", id, t.Format(time.RFC3339), err)
		}
		if !ok {
			return tz, nil
		}
		t, start = next, next
	}
}

// zoneState is what a VTIMEZONE says about an instant: the zone's name, offset and
// whether it is daylight-saving time. A transition is where it changes.
type zoneState struct {
	name   string
	offset int
	dst    bool
}

func stateAt(t time.Time) zoneState {
	name, offset := t.Zone()
	return zoneState{name: name, offset: offset, dst: t.IsDST()}
}

// maxZoneSteps bounds every walk over a zone's transitions: each step moves at
// least a second and at most a day, and real spans take a few steps a year.
const maxZoneSteps = 200_000

// fallbackStep is how far a walk moves when Go's ZoneBounds does not move it on.
const fallbackStep = 24 * time.Hour

// nextChange returns the first instant in (t, limit] at which the zone differs from
// the zone at t, or false when there is none.
//
// Go's ZoneBounds is only a hint: beyond the last transition its tz data lists, Go
// computes bounds from the zone's rule, and those are also the start and end of the
// UTC year, not transitions. Worse, in a leap year that "end of year" is Dec 31
// 00:00 UTC, which can be at or before t (seen with the tz database embedded by
// time/tzdata from 2028-12-31 on, and with any database in year 9999), so a loop
// that trusts it never moves on. Every candidate is checked with Zone, and a bound
// that does not move forward is replaced by a day's step.
func nextChange(t, limit time.Time) (time.Time, bool, error) {
	was := stateAt(t)
	cur := t
	for steps := 0; cur.Before(limit); steps++ {
		if steps == maxZoneSteps {
			return time.Time{}, false, fmt.Errorf("no end to the zone's transitions after %d steps (at %s)", steps, cur.Format(time.RFC3339))
		}
		_, end := cur.ZoneBounds()
		if end.IsZero() {
			return time.Time{}, false, nil // the zone never changes again
		}
		next := end
		if !next.After(cur) {
			next = cur.Add(fallbackStep)
		}
		if next.After(limit) {
			next = limit
		}
		if stateAt(next) != was {
			return changeBetween(cur, next), true, nil
		}
		cur = next
	}
	return time.Time{}, false, nil
}

// onsetOf returns the instant the zone in effect at t began, or zero if it always
// applied. Like nextChange, it checks ZoneBounds' start with Zone.
func onsetOf(t time.Time) (time.Time, error) {
	is := stateAt(t)
	cur := t
	for steps := 0; ; steps++ {
		if steps == maxZoneSteps {
			return time.Time{}, fmt.Errorf("no start to the zone's period found after %d steps (at %s)", steps, cur.Format(time.RFC3339))
		}
		start, _ := cur.ZoneBounds()
		if start.IsZero() {
			return time.Time{}, nil // no transition before t
		}
		prev := start.Add(-time.Second)
		if !prev.Before(cur) {
			prev = cur.Add(-fallbackStep)
		}
		if stateAt(prev) != is {
			return changeBetween(prev, cur), nil
		}
		cur = prev
	}
}

// changeBetween returns the instant, to the second, in (lo, hi] at which the zone
// becomes the zone at hi; the zones at lo and hi differ. Transitions fall on whole
// seconds.
func changeBetween(lo, hi time.Time) time.Time {
	want := stateAt(hi)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if !mid.After(lo) {
			mid = lo.Add(time.Second)
		}
		if stateAt(mid) == want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// observance is the STANDARD or DAYLIGHT component for the period t is in, which
// began at start (zero: it always applied).
func observance(t, start time.Time) ics.Component {
	name, offset := t.Zone()
	from := offset
	onset := "19700101T000000"
	if !start.IsZero() {
		_, from = start.Add(-time.Second).Zone()
		// DTSTART is the onset in the local time of the observance it replaces.
		onset = start.UTC().Add(time.Duration(from) * time.Second).Format(localLayout)
	}
	var c ics.ComponentBase
	c.AddProperty(ics.ComponentPropertyDtStart, onset)
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(from))
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(offset))
	if name != "" {
		c.AddProperty(ics.ComponentProperty(ics.PropertyTzname), name)
	}
	if t.IsDST() {
		return &ics.Daylight{ComponentBase: c}
	}
	return &ics.Standard{ComponentBase: c}
}

// utcOffset formats seconds east of UTC as an RFC 5545 UTC-OFFSET (+hhmm[ss]).
func utcOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	s := fmt.Sprintf("%s%02d%02d", sign, seconds/3600, seconds/60%60)
	if seconds%60 != 0 {
		s += fmt.Sprintf("%02d", seconds%60)
	}
	return s
}

// addCalAddress adds an ORGANIZER or ATTENDEE with its CN parameter quoted per RFC
// 5545 §3.2 (and RFC 6868 for a double quote). golang-ical v0.3.4 backslash-escapes
// every parameter value except ALTREP, so "O'Brien, Ann" would come out as
// CN=O\'Brien\, Ann, which no parser reads back as written. The library writes the
// property name verbatim and still escapes the other parameters and folds the line,
// so the quoted CN travels with the name.
func addCalAddress(e *ics.VEvent, prop ics.ComponentProperty, a mail.Address, params ...ics.PropertyParameter) {
	name := string(prop)
	if cn := cleanLine(a.Name); cn != "" {
		name += `;CN="` + paramEscaper.Replace(cn) + `"`
	}
	p := ics.IANAProperty{BaseProperty: ics.BaseProperty{
		IANAToken:      name,
		Value:          "mailto:" + a.Address,
		ICalParameters: map[string][]string{},
	}}
	for _, param := range params {
		k, v := param.KeyValue()
		p.ICalParameters[k] = v
	}
	e.Properties = append(e.Properties, p)
}

// paramEscaper applies RFC 6868 inside a quoted parameter value: ^ as ^^ and a
// double quote as ^'. Nothing else is escaped: RFC 5545 §3.1 has no backslash
// escapes in parameter values (a QSAFE-CHAR is anything but a control character or
// DQUOTE), so a backslash is written as it is, and since no DQUOTE is left inside
// the value, even a trailing one cannot run into the closing quote.
var paramEscaper = strings.NewReplacer("^", "^^", `"`, "^'")

// checkAddress accepts a plain addr-spec that can go into a mailto: value without
// escaping (golang-ical would treat the value under a custom property name as TEXT).
func checkAddress(addr string) error {
	if addr == "" {
		return errors.New("no email address")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" || strings.ContainsAny(addr, " ,;\\\"<>") || !isToken(addr) {
		return fmt.Errorf("%q is not a plain email address", addr)
	}
	return nil
}

// isToken reports whether s is non-empty printable text without spaces or control
// characters: safe in a UID, a TZID, a URI or a mailto.
func isToken(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// cleanText makes s safe for a TEXT value before golang-ical escapes it: valid UTF-8,
// line breaks as LF only (the library escapes LF as \n but would copy a CR into the
// output raw), tabs as spaces, no other control characters.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// cleanLine is cleanText on one line: SUMMARY, LOCATION, CN.
func cleanLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(cleanText(s), "\n", " ")), " ")
}
