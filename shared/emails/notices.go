package emails

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// Notices are the member emails sent at once by the member pages, not by a
// campaign: one person, one event.
const (
	NoticePromoted    = "promoted"     // a place opened up: off the waitlist, going
	NoticeJoinConfirm = "join-confirm" // double opt-in: confirm your address
	NoticeWelcome     = "welcome"      // confirmed: welcome to the group
	NoticeWaitlisted  = "waitlisted"   // a Yes from the member's calendar landed on the waitlist
)

// NoticeKinds lists every notice; each has templates/notices/<kind>.txt (defining
// "subject" and "text") and <kind>.html (defining "html").
var NoticeKinds = []string{NoticePromoted, NoticeJoinConfirm, NoticeWelcome, NoticeWaitlisted}

// NoticeLinks are the links a notice carries.
type NoticeLinks struct {
	Confirm             string // join confirmation page (POST button)
	RSVP                string // the member's RSVP page, to change the answer
	Calendar            string // .ics download
	Google, Outlook     string // add-to-calendar pages
	MeetingPage         string
	Unsubscribe         string
	UnsubscribeOneClick string
}

// Notice is one notice to one member. It is the dot of the notice's templates.
type Notice struct {
	Kind    string
	Group   Group
	Member  group.Member
	Meeting *group.Meeting // for NoticePromoted
	Guests  int            // guests coming with the member (NoticePromoted)
	// Position is the member's place in the waitlist's line (NoticeWaitlisted).
	Position int
	Links    NoticeLinks
	Now      time.Time
}

// noticeFuncs are the notice templates' helpers on top of funcs.
var noticeFuncs = map[string]any{
	// button is the dot of the HTML "button" template: a link drawn as a button.
	"button": func(url, label string) map[string]string { return map[string]string{"URL": url, "Label": label} },
}

// NoticeRenderer renders notices from templates parsed once; safe for concurrent use.
type NoticeRenderer struct {
	kinds map[string]kindTemplates
}

// NewNoticeRenderer parses the embedded notice templates.
func NewNoticeRenderer() (*NoticeRenderer, error) {
	kinds, err := parseKinds("templates/notices", "templates/notices/layout", NoticeKinds, noticeFuncs)
	if err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	return &NoticeRenderer{kinds: kinds}, nil
}

// Render checks n and renders it as a raw RFC 5322 message with the same headers
// as every member email (List-Unsubscribe and One-Click included).
func (r *NoticeRenderer) Render(n Notice) (Rendered, error) {
	t, ok := r.kinds[n.Kind]
	if !ok {
		return Rendered{}, fmt.Errorf("render %q notice: unknown kind", n.Kind)
	}
	if n.Group.Name = oneLine(n.Group.Name); n.Group.Name == "" {
		n.Group.Name = oneLine(n.Group.From.Name)
	}
	if err := n.validate(); err != nil {
		return Rendered{}, fmt.Errorf("render %s notice for member %s: %w", n.Kind, n.Member.ID, err)
	}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", n); err != nil {
		return Rendered{}, fmt.Errorf("notice %s subject: %w", n.Kind, err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", n); err != nil {
		return Rendered{}, fmt.Errorf("notice %s text body: %w", n.Kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "html", n); err != nil {
		return Rendered{}, fmt.Errorf("notice %s HTML body: %w", n.Kind, err)
	}
	subj := oneLine(subject.String())
	if subj == "" {
		return Rendered{}, errors.New("the subject came out empty")
	}
	// The header is a member email's header: the same From, To, Reply-To,
	// Message-ID and List-Unsubscribe rules.
	h, err := Message{Group: n.Group, Member: n.Member, Links: Links{UnsubscribeOneClick: n.Links.UnsubscribeOneClick}, Now: n.Now}.header(subj)
	if err != nil {
		return Rendered{}, err
	}
	var raw bytes.Buffer
	if err := writeMIME(&raw, h, text.Bytes(), html.Bytes(), nil, ""); err != nil {
		return Rendered{}, fmt.Errorf("write MIME: %w", err)
	}
	return Rendered{Subject: subj, Raw: raw.Bytes()}, nil
}

func (n Notice) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if n.Now.IsZero() {
		bad("Now is not set")
	}
	if _, err := checkAddress(n.Group.From.Address); err != nil {
		bad("From: %v", err)
	}
	if n.Group.Name == "" {
		bad("the group has no name")
	}
	if _, err := checkAddress(n.Member.Email); err != nil {
		bad("member %s: %v", n.Member.ID, err)
	}
	required := map[string]string{"Unsubscribe": n.Links.Unsubscribe, "UnsubscribeOneClick": n.Links.UnsubscribeOneClick}
	switch n.Kind {
	case NoticePromoted:
		if n.Meeting == nil || oneLine(n.Meeting.Title) == "" || !n.Meeting.End.After(n.Meeting.Start) {
			bad("a promotion needs its meeting")
		}
		required["RSVP"] = n.Links.RSVP
	case NoticeJoinConfirm:
		required["Confirm"] = n.Links.Confirm
	}
	for name, u := range required {
		if u == "" {
			bad("link %s is missing", name)
		} else if err := checkURL(u, name == "UnsubscribeOneClick"); err != nil {
			bad("link %s: %v", name, err)
		}
	}
	for name, u := range map[string]string{"Calendar": n.Links.Calendar, "Google": n.Links.Google, "Outlook": n.Links.Outlook, "MeetingPage": n.Links.MeetingPage} {
		if u != "" {
			if err := checkURL(u, false); err != nil {
				bad("link %s: %v", name, err)
			}
		}
	}
	return errors.Join(errs...)
}
