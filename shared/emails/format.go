package emails

import (
	"strings"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// funcs are the helpers the templates format meetings with. Every time is shown in
// the meeting's own time zone, whatever zone the Lambda runs in.
var funcs = map[string]any{
	"when":   when,
	"day":    day,
	"date":   longDate,
	"clock":  clock,
	"soon":   soon,
	"whose":  whose,
	"mapURL": group.Meeting.MapURL,
	"where":  where,
	"line":   oneLine,
	"greet":  greet,
}

// greet is the name an email opens with: the member's first name without the
// punctuation a "Last, First" name leaves on it.
func greet(m group.Member) string {
	name := strings.TrimRight(oneLine(m.FirstName()), ",;:")
	if name == "" {
		return "there"
	}
	return name
}

func zoneOf(m group.Meeting) *time.Location {
	if m.Location != nil {
		return m.Location
	}
	return m.Start.Location()
}

// when is the meeting's full time: "Monday 2 November 2026, 18:30–20:30 PST".
func when(m group.Meeting) string {
	loc := zoneOf(m)
	start, end := m.Start.In(loc), m.End.In(loc)
	startZone, endZone := start.Format("MST"), end.Format("MST")
	s := start.Format("Monday 2 January 2006, 15:04")
	switch {
	case start.YearDay() != end.YearDay() || start.Year() != end.Year():
		return s + " " + startZone + " – " + end.Format("Monday 2 January, 15:04") + " " + endZone
	case startZone != endZone:
		return s + " " + startZone + " – " + end.Format("15:04") + " " + endZone
	default:
		return s + "–" + end.Format("15:04") + " " + endZone
	}
}

// day is the short date of a subject line: "Thu 10 Dec".
func day(m group.Meeting) string { return m.Start.In(zoneOf(m)).Format("Mon 2 Jan") }

// longDate is "Thursday 10 December".
func longDate(m group.Meeting) string { return m.Start.In(zoneOf(m)).Format("Monday 2 January") }

// clock is the start time with its zone: "18:30 PST".
func clock(m group.Meeting) string { return m.Start.In(zoneOf(m)).Format("15:04 MST") }

// daysUntil counts calendar days in the meeting's zone from now to the start.
func daysUntil(now time.Time, m group.Meeting) int {
	loc := zoneOf(m)
	civil := func(t time.Time) time.Time {
		t = t.In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return int(civil(m.Start).Sub(civil(now)).Hours() / 24)
}

// soon says when the meeting is, relative to now: "tonight", "tomorrow",
// "on Thursday", or "on Thu 10 Dec".
func soon(now time.Time, m group.Meeting) string {
	switch d := daysUntil(now, m); {
	case d == 0 && m.Start.In(zoneOf(m)).Hour() >= 17:
		return "tonight"
	case d == 0:
		return "today"
	case d == 1:
		return "tomorrow"
	case d > 1 && d < 7:
		return "on " + m.Start.In(zoneOf(m)).Format("Monday")
	default:
		return "on " + day(m)
	}
}

// whose is soon as a capitalized possessive: "Tonight's", "Tomorrow's", "Thursday's".
func whose(now time.Time, m group.Meeting) string {
	s := strings.TrimPrefix(soon(now, m), "on ")
	return strings.ToUpper(s[:1]) + s[1:] + "'s"
}

// where is the venue and its address on one line, or "" if neither is known.
func where(m group.Meeting) string {
	var parts []string
	for _, s := range []string{m.Venue, m.VenueAddress} {
		if s = oneLine(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
