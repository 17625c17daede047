package group

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Stay in touch: the morning after a meeting, everyone who was there gets a link to
// /met, where members who chose to be listed appear to each other (first name, last
// initial, an optional line), tick whom they would like to stay in touch with, and
// get an introduction only when both ticked each other.

// Introduction is the email kind of a mutual introduction. It is not a scheduled
// kind (it is not in Kinds): the connections run sends every intent recorded since
// its last run, and the member's "connections" preference covers it.
const Introduction Kind = "introduction"

// Limits of the /met page.
const (
	MaxTicks           = 30                  // ticks per member per meeting
	MaxLineRunes       = 140                 // a member's line about themselves
	MetPageLife        = 14 * 24 * time.Hour // after the meeting's end, the page closes
	ConnectionsSendFor = 24 * time.Hour      // the connections email is never sent later than this after its time
)

// ConnectionsOpen is when the connections email is due for m: ConnectionsAt (a time
// of day) on the day after the meeting ends, in the meeting's zone, right across a
// daylight-saving change.
func (l LeadTimes) ConnectionsOpen(m Meeting) time.Time {
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	end := m.End.In(loc)
	at := l.ConnectionsAt
	return time.Date(end.Year(), end.Month(), end.Day()+1, int(at/time.Hour), int(at%time.Hour/time.Minute), 0, 0, loc)
}

// MetClosed reports whether the /met page of m no longer records (or shows).
func MetClosed(m Meeting, now time.Time) bool { return !now.Before(m.End.Add(MetPageLife)) }

// Attended reports whether a member counts as having been at the meeting for /met
// and the connections email: they answered Yes, or said they came to the pub.
func Attended(r *RSVP, pubComing bool) bool {
	return pubComing || (r != nil && r.Answer == Yes)
}

// ShortName is how /met shows a member: first name and last initial ("Grace H."),
// never the address.
func (m Member) ShortName() string {
	name := strings.TrimSpace(m.Name)
	if last, first, ok := strings.Cut(name, ","); ok && strings.TrimSpace(first) != "" && strings.TrimSpace(last) != "" {
		name = strings.TrimSpace(first) + " " + strings.TrimSpace(last) // "Hopper, Grace"
	}
	f := strings.Fields(name)
	switch len(f) {
	case 0:
		return "A member"
	case 1:
		return f[0]
	}
	r, _ := utf8.DecodeRuneInString(f[len(f)-1])
	return f[0] + " " + string(r) + "."
}

// CleanLine tidies a member's line about themselves: one line, trimmed, at most
// MaxLineRunes characters.
func CleanLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > MaxLineRunes {
		s = string([]rune(s)[:MaxLineRunes])
	}
	return s
}

// Pair is two members in a fixed order (Low < High), so both sides' ticks name one pair.
type Pair struct{ Low, High string }

// PairOf orders two member ids.
func PairOf(a, b string) Pair {
	if b < a {
		a, b = b, a
	}
	return Pair{a, b}
}

// Other is the member of p that is not id.
func (p Pair) Other(id string) string {
	if id == p.Low {
		return p.High
	}
	return p.Low
}

// Profile is a member's standing choice for /met, remembered across meetings.
type Profile struct {
	MemberID string
	Listed   bool
	Line     string
	Blocked  []string // member ids this member never wants to see or be seen by
}

// Blocks reports whether this profile blocks id.
func (p Profile) Blocks(id string) bool {
	for _, b := range p.Blocked {
		if b == id {
			return true
		}
	}
	return false
}

// Apart reports whether either of two profiles blocks the other.
func Apart(a, b Profile) bool { return a.Blocks(b.MemberID) || b.Blocks(a.MemberID) }

// ConnectionCounts are the only figures organizers see about /met: never who.
type ConnectionCounts struct {
	Listed        int // attendees listed on the page
	Ticks         int
	Introductions int
}
