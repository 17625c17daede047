// Package group is afterparty's domain: meetings, members, RSVPs and the message
// plan of the meeting cycle. It knows nothing of DynamoDB, SES or HTTP.
package group

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is one family of message in the meeting cycle.
type Kind string

// The message kinds, in the order a meeting's cycle sends them.
const (
	Invitation Kind = "invitation"
	Reminder   Kind = "reminder"
	Teaser     Kind = "teaser"
	Pub        Kind = "pub"
	// Connections is the morning-after "who did you meet?" email with the /met link
	// (connections.go).
	Connections Kind = "connections"
)

// Kinds lists every scheduled message kind: the one list the functions, the CLI and
// the tests derive theirs from.
var Kinds = []Kind{Invitation, Reminder, Teaser, Pub, Connections}

// ParseKind turns a command-line or event name into a Kind.
func ParseKind(s string) (Kind, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, name := range []string{s, strings.TrimSuffix(s, "s")} {
		for _, k := range Kinds {
			if string(k) == name {
				return k, true
			}
		}
	}
	return "", false
}

// Meeting status values.
const (
	StatusScheduled = "scheduled"
	StatusCancelled = "cancelled"
)

// Meeting is one validated row of the schedule.
type Meeting struct {
	ID           string
	Title        string
	Start        time.Time // in Location
	End          time.Time // in Location
	Location     *time.Location
	Venue        string
	VenueAddress string
	Speaker      string
	SpeakerIntro string
	Topic        string
	Icebreaker   string
	PubName      string
	PubAddress   string
	PubURL       string
	Capacity     int // 0: no limit
	GuestsMax    int // how many guests (+N) a member may bring; guests take places too
	Status       string
	Version      string // fingerprint of the row it was read from
}

// Cancelled reports whether organizers called the meeting off.
func (m Meeting) Cancelled() bool { return m.Status == StatusCancelled }

// HasPub reports whether the row says where the after-party is.
func (m Meeting) HasPub() bool { return m.PubName != "" }

// MapURL is where the pub is on a map: the row's pub_url, else an OpenStreetMap
// search for its address (or its name); "" when the row names no pub.
func (m Meeting) MapURL() string {
	if m.PubURL != "" {
		return m.PubURL
	}
	q := strings.Join(strings.Fields(m.PubAddress), " ")
	if q == "" {
		q = strings.Join(strings.Fields(m.PubName), " ")
	}
	if q == "" {
		return ""
	}
	return "https://www.openstreetmap.org/search?query=" + url.QueryEscape(q)
}

// Member status values.
const (
	MemberActive       = "active"
	MemberUnsubscribed = "unsubscribed"
)

// Member is one person on the group's list.
type Member struct {
	ID       string
	Email    string
	Name     string
	Status   string
	JoinedAt time.Time
	Muted    []Kind // message kinds this member asked not to get
	// JoinName is the name sent with the latest join request that was emailed a
	// confirmation; confirming it makes it the member's Name.
	JoinName string
}

// MaxMemberName is the longest member name, in characters.
const MaxMemberName = 200

// MemberNameProblem says what is wrong with a name an organizer gives a member (""
// if nothing): it greets them in every email, so one line of visible text.
func MemberNameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is empty"
	case !utf8.ValidString(name):
		return "is not valid UTF-8 text"
	case utf8.RuneCountInString(name) > MaxMemberName:
		return fmt.Sprintf("is longer than %d characters", MaxMemberName)
	case strings.IndexFunc(name, func(c rune) bool { return unicode.IsControl(c) || invisible(c) }) >= 0:
		return "has control or invisible characters (line breaks, escapes, text-direction marks)"
	}
	return ""
}

// Wants reports whether the member should get messages of kind k at all.
func (m Member) Wants(k Kind) bool {
	if m.Status != MemberActive {
		return false
	}
	for _, muted := range m.Muted {
		if muted == k {
			return false
		}
	}
	return true
}

// WantsCalendarChanges reports whether the member should get the updates and the
// cancellation of a meeting whose invitation they were sent: their calendar holds it,
// and a calendar that misses a change is wrong. Muting invitations stops new
// invitations only; leaving the group (or a suppressed address) stops these too.
func (m Member) WantsCalendarChanges() bool { return m.Status == MemberActive }

// FirstName is what emails greet the member with.
func (m Member) FirstName() string {
	name := strings.TrimSpace(m.Name)
	if last, first, ok := strings.Cut(name, ","); ok && strings.TrimSpace(first) != "" && strings.TrimSpace(last) != "" {
		name = strings.TrimSpace(first) // "Hopper, Grace"
	}
	if name == "" {
		return "there"
	}
	return strings.Fields(name)[0]
}

// NormalizeEmail is the form addresses are compared and keyed in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// MemberID is the stable, non-reversible-at-a-glance id a member is keyed and linked by.
// It derives from the normalized address, so importing the same person twice, in any
// letter case, finds the same member.
func MemberID(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return "m" + hex.EncodeToString(sum[:10])
}

// Answer is a member's RSVP.
type Answer string

// RSVP answers.
const (
	Yes   Answer = "yes"
	No    Answer = "no"
	Maybe Answer = "maybe"
)

// ParseAnswer accepts an answer from a link or form.
func ParseAnswer(s string) (Answer, bool) {
	switch a := Answer(strings.ToLower(strings.TrimSpace(s))); a {
	case Yes, No, Maybe:
		return a, true
	}
	return "", false
}

// RSVP is a member's latest answer for one meeting.
type RSVP struct {
	MeetingID  string
	MemberID   string
	Answer     Answer
	AnsweredAt time.Time
	Changes    int // how many times the member answered
	Guests     int // guests the member asked to bring (Yes only)
	// Place is where a Yes stands: PlaceGoing or PlaceWaitlisted ("" for Maybe, No,
	// or a Yes not yet placed). Seats is how many places a going member holds
	// (themselves and the guests that fitted).
	Place string
	Seats int
	// Source is where the latest answer came from: SourceLink or SourceCalendar
	// ("" for answers recorded before sources were kept).
	Source string
}

// Where an answer came from.
const (
	SourceLink     = "link"     // the RSVP page, from a link in an email
	SourceCalendar = "calendar" // the member's calendar app (an iMIP REPLY)
)

// Places a Yes can have.
const (
	PlaceGoing      = "going"
	PlaceWaitlisted = "waitlisted"
)

// MaxGuests is the most guests_max a meeting may allow.
const MaxGuests = 10

// PubAnswer records that a member is coming to the after-party.
type PubAnswer struct {
	MeetingID  string
	MemberID   string
	Coming     bool
	AnsweredAt time.Time
}
