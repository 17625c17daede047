package group

import (
	"sort"
	"strings"
)

// Places is a meeting's places: how many are taken (members and their guests), how
// many members wait, each seated member's places and each waiting member's queue
// entry ("<UTC time, fixed width>|<places wanted>"). Seq orders its versions.
type Places struct {
	Going   int
	Waiting int
	Seq     int64
	Seats   map[string]int
	Queue   map[string]string
}

// Position is a waitlisted member's place in the queue (1 = next), 0 if not queued.
func (p Places) Position(memberID string) int {
	for i, id := range p.QueueOrder() {
		if id == memberID {
			return i + 1
		}
	}
	return 0
}

// QueueOrder is the waitlist, first come first.
func (p Places) QueueOrder() []string {
	ids := make([]string, 0, len(p.Queue))
	for id := range p.Queue {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := p.Queue[ids[i]], p.Queue[ids[j]]
		if a != b {
			return a < b
		}
		return ids[i] < ids[j]
	})
	return ids
}

// QueuedSince is when the member joined the waitlist (their queue entry's time),
// "" if they are not on it.
func (p Places) QueuedSince(memberID string) string {
	e, ok := p.Queue[memberID]
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(e, "|")
	return t
}

// Booking is the outcome of an answer: the member's RSVP as now recorded, the
// meeting's places after it, and who got a place from the waitlist on the way.
type Booking struct {
	RSVP RSVP
	// GuestsRefused is how many of the asked-for guests did not fit.
	GuestsRefused int
	// Position is the member's place on the waitlist (1 = next), 0 if not on it.
	Position int
	Going    int
	Waiting  int
	Promoted []string // member ids moved from the waitlist to going
}

// ReconcileReport says what a capacity repair found and fixed.
type ReconcileReport struct {
	Members  int      // RSVP items looked at
	Resynced []string // members whose place did not match their answer
	Mirrored int      // RSVP items whose mirrored place was rewritten
	Promoted []string
	Going    int
	Waiting  int
}

// AnswerStart is what an answer starts from, read in one go before the page
// decides: the meeting's row (when asked for), the member, their RSVP and the
// meeting's counts. Held is the store's own note of what it read; pass the
// AnswerStart back to the store's AnswerFrom unchanged.
type AnswerStart struct {
	MeetingID, MemberID string
	Row                 Row // nil: not asked for, or no such meeting
	Member              Member
	MemberFound         bool
	RSVP                *RSVP // nil: no answer yet
	// Going and Waiting are the meeting's places as read.
	Going, Waiting int
	Held           any
}
