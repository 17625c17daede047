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
	if tz := vtimezone(i.Meeting.Location, i.Meeting.Start, i.Meeting.End); tz != nil {
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
	cal.SetRefreshInterval("PT12H", ics.WithValue(string(ics.ValueDataTypeDuration)))
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
		cal.AddVTimezone(vtimezone(s.loc, s.from, s.to))
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
			&ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{"TRUE"}},
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
	if id == "" {
		e.SetProperty(prop, t.UTC().Format(utcLayout))
		return
	}
	e.SetProperty(prop, t.In(loc).Format(localLayout), ics.WithTZID(id))
}

// vtimezone describes loc from the observance in effect at from until the one in
// effect at to, from Go's tz database: one STANDARD or DAYLIGHT observance per
// period, each with its own DTSTART (no RRULE is needed when every transition in
// the span is listed). It returns nil when times are written in UTC.
func vtimezone(loc *time.Location, from, to time.Time) *ics.VTimezone {
	id := tzid(loc)
	if id == "" {
		return nil
	}
	tz := ics.NewTimezone(id)
	t := from.In(loc)
	for {
		start, end := t.ZoneBounds()
		tz.Components = append(tz.Components, observance(t, start))
		if end.IsZero() || end.After(to) {
			return tz
		}
		t = end
	}
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

// paramEscaper applies RFC 6868 inside a quoted parameter value. A backslash is
// legal there, but parsers that wrongly unescape parameters (golang-ical's own among
// them) would eat it and the quote after it, so a display name loses its backslashes.
var paramEscaper = strings.NewReplacer("^", "^^", `"`, "^'", `\`, "")

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
