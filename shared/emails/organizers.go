package emails

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/group"
)

// The organizers' emails: not member email (no RSVP or unsubscribe links), sent to
// the organizer addresses only.
const (
	OrganizerProblems = "problems" // a schedule row has problems and was skipped
	OrganizerDigest   = "digest"   // the headcount digest before a meeting
)

// OrganizerKinds lists every organizer email; each has templates/organizers/<kind>.txt
// (defining "subject" and "text") and <kind>.html (defining "html").
var OrganizerKinds = []string{OrganizerProblems, OrganizerDigest}

// BadRow is what a problems email says about one version of a schedule row.
type BadRow struct {
	MeetingID string
	Problems  group.Problems
}

// Headcount is what a digest email says about one meeting.
type Headcount struct {
	Meeting    group.Meeting
	Before     string // "1 day", "3 hours": which digest this is
	Yes        int
	Maybe      int
	No         int
	NoAnswer   int      // members who got the invitation and have not answered
	Waitlist   int      // Yes beyond the capacity, queued
	Guests     int      // guests of going members that fitted
	Pub        int      // "I'm coming to the pub"
	FirstTimer []string // names of members whose first Yes this is
	Icebreaker string
	// StayedInTouch is how the last meeting's /met went (the 3-hour digest): counts
	// only, never who.
	StayedInTouch *StayedInTouch
}

// StayedInTouch is the /met figures of one meeting.
type StayedInTouch struct {
	Title string
	group.ConnectionCounts
}

// OrganizerMessage is one email to one organizer. It is the dot of the templates.
type OrganizerMessage struct {
	Kind  string
	Group Group
	To    mail.Address
	Now   time.Time
	Bad   *BadRow    // for OrganizerProblems
	Count *Headcount // for OrganizerDigest
}

// OrganizerRenderer renders the organizers' emails from templates parsed once.
type OrganizerRenderer struct {
	kinds map[string]kindTemplates
}

// NewOrganizerRenderer parses the embedded organizer templates.
func NewOrganizerRenderer() (*OrganizerRenderer, error) {
	kinds, err := parseKinds("templates/organizers", "", OrganizerKinds, nil)
	if err != nil {
		return nil, fmt.Errorf("organizer emails: %w", err)
	}
	return &OrganizerRenderer{kinds: kinds}, nil
}

// Render renders one organizer email as a raw RFC 5322 message.
func (r *OrganizerRenderer) Render(m OrganizerMessage) (Rendered, error) {
	t, ok := r.kinds[m.Kind]
	if !ok {
		return Rendered{}, fmt.Errorf("render organizer %q email: unknown kind", m.Kind)
	}
	switch {
	case m.Now.IsZero():
		return Rendered{}, errors.New("render organizer email: Now is not set")
	case m.Kind == OrganizerProblems && m.Bad == nil, m.Kind == OrganizerDigest && m.Count == nil:
		return Rendered{}, fmt.Errorf("render organizer %s email: nothing to say", m.Kind)
	}
	if _, err := checkAddress(m.To.Address); err != nil {
		return Rendered{}, fmt.Errorf("organizer address: %w", err)
	}
	if _, err := checkAddress(m.Group.From.Address); err != nil {
		return Rendered{}, fmt.Errorf("From: %w", err)
	}
	m.Group.Name = oneLine(m.Group.Name)
	if m.Group.Name == "" {
		m.Group.Name = oneLine(m.Group.From.Name)
	}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", m); err != nil {
		return Rendered{}, fmt.Errorf("organizer %s subject: %w", m.Kind, err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", m); err != nil {
		return Rendered{}, fmt.Errorf("organizer %s text body: %w", m.Kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "html", m); err != nil {
		return Rendered{}, fmt.Errorf("organizer %s HTML body: %w", m.Kind, err)
	}
	subj := oneLine(subject.String())
	var h mail.Header
	h.SetDate(m.Now)
	from := oneLine(m.Group.From.Name)
	if from == "" {
		from = m.Group.Name
	}
	h.SetAddressList("From", []*mail.Address{{Name: from, Address: m.Group.From.Address}})
	h.SetAddressList("To", []*mail.Address{{Name: oneLine(m.To.Name), Address: m.To.Address}})
	h.SetSubject(subj)
	id, err := newMessageID(m.Group.UIDDomain())
	if err != nil {
		return Rendered{}, err
	}
	h.SetMessageID(id)
	var raw bytes.Buffer
	if err := writeMIME(&raw, h, text.Bytes(), html.Bytes(), nil, ""); err != nil {
		return Rendered{}, fmt.Errorf("write MIME: %w", err)
	}
	return Rendered{Subject: subj, Raw: raw.Bytes()}, nil
}
