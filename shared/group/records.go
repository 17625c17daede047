package group

import (
	"errors"
	"time"
)

// What the meeting cycle keeps between runs: the send ledger, campaign progress,
// announced calendars, the shared send timeline. The coordinating packages (web,
// cycle, campaign, replies) read and write these through interfaces of their own;
// shared/dynamo stores them.

// Errors a store returns, which callers tell apart with errors.Is.
var (
	// ErrNotFound: the item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the store refused the request itself (a key too long, an empty key
	// value): the caller's mistake, which a retry cannot mend, not an outage.
	ErrInvalid = errors.New("the store refused the request as invalid")
	// ErrSuppressed: a member's own action (a link, the join form) would make a
	// suppressed member active again; only an organizer may.
	ErrSuppressed = errors.New("the address is suppressed after a bounce or a complaint")
	// ErrClaimed: a claim that failed; the message is sent, failed, or being sent by
	// a live worker. Either way it is not this worker's to send.
	ErrClaimed = errors.New("already sent or being sent")
	// ErrLostClaim: a mark, renewal or release by a claim that no longer holds the
	// entry (its lease ran out and another worker took it over, or finished it).
	ErrLostClaim = errors.New("the send claim is held by another worker")
	// ErrRateMoved: a reservation on the shared send timeline lost the race; read it
	// again and retry.
	ErrRateMoved = errors.New("the shared send timeline moved since it was read")
	// ErrTooManyTicks: a tick beyond MaxTicks for one member and meeting.
	ErrTooManyTicks = errors.New("too many ticks")
)

// MemberPending is the status of someone who asked to join and has not confirmed
// their address yet: they get no group email until they confirm.
const MemberPending = "pending"

// JoinLinkLife is how long a join confirmation link works; a pending sign-up lives
// as long, from its latest confirmation email.
const JoinLinkLife = 48 * time.Hour

// CampaignID names the send ledger of one message kind for one meeting.
func CampaignID(meetingID, kind string) string { return meetingID + "#" + kind }

// Send states in the ledger.
const (
	SendClaimed = "claimed" // a worker is sending it right now (until ClaimUntil)
	SendSent    = "sent"    // SES accepted it: never send again
	SendFailed  = "failed"  // SES rejected the address: never retried automatically
)

// SendRecord is one (campaign, member) entry of the send ledger.
type SendRecord struct {
	MemberID   string
	State      string
	ClaimUntil int64 // unix ms; a stale claim may be taken over
	Claims     int
	ClaimID    string // the claim that holds (or finished) the entry
	SentAt     time.Time
	MessageID  string
	Error      string
}

// Member is the member id of the record.
func (r SendRecord) Member() string { return r.MemberID }

// Campaign is the progress of one message kind for one meeting.
type Campaign struct {
	MeetingID  string
	Kind       string
	StartedAt  time.Time
	Cursor     string
	Sweeps     int
	LastRunAt  time.Time
	LastError  string
	Icebreaker string
	// RunState is how the latest run stands: RunRunning from its start until it
	// ends (so a run killed before its first checkpoint stays "running"),
	// RunStopped when it stopped early (LastError says why), RunSwept when it
	// reached the end of the recipients. Empty on runs recorded before it existed.
	RunState string
}

// Campaign run states (Campaign.RunState).
const (
	RunRunning = "running"
	RunStopped = "stopped"
	RunSwept   = "swept"
)

// CalendarState is what a meeting's calendar event says that members must be told
// about when it changes: the time and its zone, where, and whether it is on.
type CalendarState struct {
	Start        time.Time
	End          time.Time
	TimeZone     string
	Venue        string
	VenueAddress string
	Status       string
}

// Announcement is a meeting's announced calendar state.
type Announcement struct {
	Sequence    int            // the iCalendar SEQUENCE members were last sent
	Fingerprint string         // of Current, for a cheap comparison
	Current     CalendarState  //
	Previous    *CalendarState // what Sequence-1 said (nil at 0)
	At          time.Time      // the run that announced it
	// ReplyDomain and ReplyKey are fixed by the first announcement: the ORGANIZER
	// of the meeting's every invitation, update and cancellation is
	// rsvp+<reply token signed with ReplyKey>@ReplyDomain, so members' calendars
	// keep matching its updates after a key rotation or a change of
	// AFTERPARTY_REPLY_DOMAIN. Empty (no reply domain then, or announced before
	// replies existed): the ORGANIZER is the group's From address.
	ReplyDomain string
	ReplyKey    string
}

// SentCalendar is one member's entry in an invitation ledger: its send state and
// the SEQUENCE of the calendar it carried.
type SentCalendar struct {
	MemberID string
	State    string
	Sequence int // 0 for the first version
}

// Question is an organizer's own icebreaker question.
type Question struct {
	ID      string
	Text    string
	AddedAt time.Time
}

// RateState is the shared send timeline: the next free send slot and how many sends
// the 24-hour quota has left (as read from SES at LeftAt, minus every slot reserved
// since). Exists is false before the first reservation.
type RateState struct {
	Exists bool
	Next   time.Time // the first slot no one has reserved
	Left   int64     // sends left in the 24-hour quota
	LeftAt time.Time // when Left was last read from SES
}
