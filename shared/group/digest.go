package group

import (
	"fmt"
	"time"
)

// Digest is one of the organizers' headcount emails before a meeting.
type Digest struct {
	Name   string        // names its ledger: "digest-24h", "digest-3h"
	Before time.Duration // how long before the start it is due
	Label  string        // how the email says it: "1 day"
}

// Digests are the organizers' headcount emails, earliest first: DESIGN.md's
// "1 day before and 3 hours before". Each is due from its lead until the next
// one's, so a run that misses the first (a meeting added late) sends only the later.
var Digests = []Digest{
	{Name: "digest-24h", Before: 24 * time.Hour, Label: "1 day"},
	{Name: "digest-3h", Before: 3 * time.Hour, Label: "3 hours"},
}

// DigestWindow is when digest i of meeting m may go out.
func DigestWindow(i int, m Meeting) Window {
	w := Window{Opens: m.Start.Add(-Digests[i].Before), Closes: m.Start}
	if i+1 < len(Digests) {
		w.Closes = m.Start.Add(-Digests[i+1].Before)
	}
	return w
}

// DigestDue says which digest of m is due at now, if any, and if none, why not.
func DigestDue(m Meeting, now time.Time) (int, bool, string) {
	if m.Cancelled() {
		return 0, false, "the meeting is cancelled"
	}
	for i := range Digests {
		w := DigestWindow(i, m)
		if !now.Before(w.Opens) && now.Before(w.Closes) {
			return i, true, ""
		}
	}
	if now.Before(DigestWindow(0, m).Opens) {
		return 0, false, fmt.Sprintf("not due until %s", DigestWindow(0, m).Opens.In(m.Location).Format("Mon 2 Jan 2006 15:04 MST"))
	}
	return 0, false, "the meeting has started"
}
