package group

import (
	"strings"
	"time"
)

// Intent kinds: the emails.Notice* kind each one sends.
const (
	IntentPromoted    = "promoted"     // a place opened up (off the waitlist)
	IntentWaitlisted  = "waitlisted"   // a calendar Yes landed on the waitlist
	IntentJoinConfirm = "join-confirm" // double opt-in: confirm your address
	IntentWelcome     = "welcome"      // confirmed: welcome to the group
)

// Intent is one email a member's action made due, recorded (in the outbox) before
// the page that triggered it answers, and sent later through the send ledger.
type Intent struct {
	Key       string // deterministic per email: recording it twice is one email
	Kind      string
	MemberID  string
	MeetingID string
	// Since is what makes this email one of a kind: the queue entry time of the
	// waitlist stint (promoted, waitlisted), the join request's time (join-confirm,
	// also the confirmation link's start), the confirmation's time (welcome).
	Since string
	// Position is the place on the waitlist when recorded (waitlisted); the email
	// says the position at send time.
	Position  int
	CreatedAt time.Time
}

// intentKey is an intent's key: kind#[meeting#]member#since.
func intentKey(kind, meetingID, memberID, since string) string {
	parts := []string{kind}
	if meetingID != "" {
		parts = append(parts, meetingID)
	}
	return strings.Join(append(parts, memberID, since), "#")
}

// NewIntent builds the intent of one email; its Key is deterministic.
func NewIntent(kind, meetingID, memberID, since string, now time.Time) Intent {
	return Intent{Key: intentKey(kind, meetingID, memberID, since), Kind: kind, MeetingID: meetingID, MemberID: memberID,
		Since: since, CreatedAt: now.UTC()}
}

// IntentTime formats a time for Intent.Since as the store writes times.
func IntentTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
