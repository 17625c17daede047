package group

import (
	"fmt"
	"time"
)

// LeadTimes says when each message of a meeting's cycle is due. It is the one
// definition the functions, the CLI and the template's parameters feed.
type LeadTimes struct {
	Invitation  time.Duration // before start; a meeting added later is invited at once
	Reminder    time.Duration // before start
	Teaser      time.Duration // before start
	PubMaxDelay time.Duration // after the end, the pub email is no longer sent
	// ConnectionsAt is the local time of day, on the day after the meeting ends, the
	// connections email goes out (10h: 10:00 the next morning in the meeting's zone).
	ConnectionsAt time.Duration
}

// DefaultLeadTimes are DESIGN.md's defaults.
var DefaultLeadTimes = LeadTimes{
	Invitation:    14 * 24 * time.Hour,
	Reminder:      48 * time.Hour,
	Teaser:        24 * time.Hour,
	PubMaxDelay:   3 * time.Hour,
	ConnectionsAt: 10 * time.Hour,
}

// Window is when a message of one kind may go out for one meeting: from Opens
// (inclusive) to Closes (exclusive).
type Window struct {
	Opens, Closes time.Time
}

// Window returns when kind k is due for meeting m.
func (l LeadTimes) Window(k Kind, m Meeting) Window {
	switch k {
	case Invitation:
		return Window{before(m.Start, l.Invitation), m.Start}
	case Reminder:
		return Window{before(m.Start, l.Reminder), m.Start}
	case Teaser:
		return Window{before(m.Start, l.Teaser), m.Start}
	case Pub:
		return Window{m.End, m.End.Add(l.PubMaxDelay)}
	case Connections:
		opens := l.ConnectionsOpen(m)
		return Window{opens, opens.Add(ConnectionsSendFor)}
	}
	return Window{}
}

// before is start minus lead in wall-clock terms: a lead of whole days lands on the
// same local time of day however many daylight-saving changes lie between (14 days
// before Monday 19:00 is Monday 19:00); other leads are exact durations.
func before(start time.Time, lead time.Duration) time.Time {
	if lead > 0 && lead%(24*time.Hour) == 0 {
		return start.AddDate(0, 0, -int(lead/(24*time.Hour)))
	}
	return start.Add(-lead)
}

// Due reports whether kind k should be sent for m at now, and if not, why not in
// words an organizer understands.
func (l LeadTimes) Due(k Kind, m Meeting, now time.Time) (bool, string) {
	if m.Cancelled() {
		return false, "the meeting is cancelled"
	}
	w := l.Window(k, m)
	switch {
	case now.Before(w.Opens):
		return false, fmt.Sprintf("not due until %s", w.Opens.In(m.Location).Format("Mon 2 Jan 2006 15:04 MST"))
	case !now.Before(w.Closes):
		if k == Pub {
			return false, "too late: the pub email goes out at most " + l.PubMaxDelay.String() + " after the meeting ends"
		}
		if k == Connections {
			return false, "too late: the connections email goes out at most " + ConnectionsSendFor.String() + " after its time"
		}
		return false, "the meeting has started"
	case k == Pub && !m.HasPub():
		return false, "no pub_name in the schedule"
	}
	return true, ""
}

// Recipient reports whether a member with the given RSVP (nil: no answer yet) gets
// kind k: invitations go to every active member, reminders to all but those who said
// No, teasers and pub emails to those who said Yes or Maybe.
func Recipient(k Kind, m Member, r *RSVP) bool {
	if !m.Wants(k) {
		return false
	}
	switch k {
	case Invitation:
		return true
	case Reminder:
		return r == nil || r.Answer != No
	case Teaser, Pub:
		return r != nil && (r.Answer == Yes || r.Answer == Maybe)
	case Connections:
		return r != nil && r.Answer == Yes // and those who said they came to the pub: Attended
	}
	return false
}
