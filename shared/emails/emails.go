// Package emails renders every email of the meeting cycle as a complete raw RFC 5322
// message, ready for SES's raw SendEmail: the text and HTML bodies come from
// embedded templates (text/template and html/template, parsed once), the MIME
// structure and header encoding from github.com/emersion/go-message, and the
// invitation's calendar invite from shared/ical.
package emails

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
)

// Group is who the email is from.
type Group struct {
	Name       string
	From       mail.Address // an SES-verified identity
	Organizers []string     // Reply-To: "Name <addr>" or bare addresses
}

// UIDDomain is the domain of the group's calendar UIDs (<meeting id>@<domain>):
// the domain of From. Every calendar afterparty hands out (the emailed invite, the
// .ics download, the public feed) must use it, so calendars see one event.
func (g Group) UIDDomain() string {
	_, domain, _ := strings.Cut(g.From.Address, "@")
	return strings.ToLower(domain)
}

// Links are the signed links one member may click in one email.
type Links struct {
	Yes, Maybe, No      string // RSVP links (GET shows a page with a button)
	Pub                 string // "I'm coming to the pub"
	Unsubscribe         string // page with a button (in the body)
	UnsubscribeOneClick string // https POST target for List-Unsubscribe (RFC 8058)
	Calendar            string // .ics download
	MeetingPage         string
	Met                 string // the /met page: who did you meet? (connections)
}

// Message is one email to one member. It is the dot of the kind's templates.
//
// For group.Invitation, the meeting's state picks the email: a cancelled meeting
// renders the cancellation (iTIP METHOD:CANCEL), Changes render an update of an
// earlier invitation (METHOD:REQUEST, "Updated: ...", saying what changed), and
// otherwise it is the member's first invitation. Sequence is the calendar's
// SEQUENCE in every case: a member first invited after an update gets the
// meeting's current one, so every invitee's calendar agrees.
type Message struct {
	Kind       group.Kind
	Group      Group
	Meeting    group.Meeting
	Member     group.Member
	Links      Links
	Icebreaker string    // tonight's question (teaser, reminder); resolved by the caller
	Sequence   int       // iCalendar SEQUENCE for invitations
	Changes    []string  // for an update: what changed, one line each (see Changes)
	Now        time.Time // Date header and DTSTAMP
	MessageID  string    // optional; generated as <random@domain-of-From> if empty
	// Organizer is the calendar's ORGANIZER when members may answer from their
	// calendar: the member's reply address on the reply domain (RSVP=TRUE). Nil:
	// the ORGANIZER is From, whose mail is not read, so the calendar asks for no
	// reply (RSVP=FALSE) and its DESCRIPTION says to answer with the links.
	Organizer *mail.Address
	// Introduction is who the member is introduced to (group.Introduction only).
	Introduction *Introduction
}

// Rendered is a finished email.
type Rendered struct {
	Subject string
	Raw     []byte // the whole RFC 5322 message, CRLF line endings
}

//go:embed templates
var templateFS embed.FS

// kindTemplates are one kind's parsed templates.
type kindTemplates struct {
	text *texttemplate.Template // defines "subject", "text" and (invitation) "calendar"
	html *htmltemplate.Template // defines "html"
}

// Renderer renders messages from templates parsed once. It is safe for concurrent use.
type Renderer struct {
	kinds map[group.Kind]kindTemplates
}

// NewRenderer parses the embedded templates of every kind in group.Kinds.
func NewRenderer() (*Renderer, error) {
	names := make([]string, len(group.Kinds))
	for i, k := range group.Kinds {
		names[i] = string(k)
	}
	names = append(names, string(group.Introduction)) // sent from the connections run (introductions.go)
	parsed, err := parseKinds("templates", "templates/layout", names, nil)
	if err != nil {
		return nil, err
	}
	if parsed[string(group.Invitation)].text.Lookup("calendar") == nil {
		return nil, fmt.Errorf("%s text template defines no \"calendar\"", group.Invitation)
	}
	r := &Renderer{kinds: map[group.Kind]kindTemplates{}}
	for name, t := range parsed {
		r.kinds[group.Kind(name)] = t
	}
	return r, nil
}

// parseKinds parses, once, the text and HTML templates of each kind in dir (with
// the layout, if any, whose files are layout+".txt" and layout+".html"), and checks
// each defines subject, text and html. Every email family loads through it.
func parseKinds(dir, layout string, kinds []string, extra texttemplate.FuncMap) (map[string]kindTemplates, error) {
	out := map[string]kindTemplates{}
	for _, k := range kinds {
		textFiles, htmlFiles := []string{dir + "/" + k + ".txt"}, []string{dir + "/" + k + ".html"}
		if layout != "" {
			textFiles, htmlFiles = append([]string{layout + ".txt"}, textFiles...), append([]string{layout + ".html"}, htmlFiles...)
		}
		text, err := texttemplate.New(k).Funcs(funcs).Funcs(extra).Option("missingkey=error").ParseFS(templateFS, textFiles...)
		if err != nil {
			return nil, fmt.Errorf("parse %s text template: %w", k, err)
		}
		html, err := htmltemplate.New(k).Funcs(funcs).Funcs(htmltemplate.FuncMap(extra)).Option("missingkey=error").ParseFS(templateFS, htmlFiles...)
		if err != nil {
			return nil, fmt.Errorf("parse %s HTML template: %w", k, err)
		}
		if text.Lookup("subject") == nil || text.Lookup("text") == nil || html.Lookup("html") == nil {
			return nil, fmt.Errorf("%s templates must define subject, text and html", k)
		}
		out[k] = kindTemplates{text: text, html: html}
	}
	return out, nil
}

// Render checks m and renders it. An error means the email must not be sent: no
// member ever receives a half-filled email.
func (r *Renderer) Render(m Message) (Rendered, error) {
	t, ok := r.kinds[m.Kind]
	if !ok {
		return Rendered{}, fmt.Errorf("render %q email: unknown kind", m.Kind)
	}
	if strings.TrimSpace(m.Group.Name) == "" {
		m.Group.Name = m.Group.From.Name
	}
	m.Group.Name = oneLine(m.Group.Name)
	if err := m.validate(); err != nil {
		return Rendered{}, fmt.Errorf("render %s email for meeting %s, member %s: %w", m.Kind, m.Meeting.ID, m.Member.ID, err)
	}
	out, err := render(t, m)
	if err != nil {
		return Rendered{}, fmt.Errorf("render %s email for meeting %s, member %s: %w", m.Kind, m.Meeting.ID, m.Member.ID, err)
	}
	return out, nil
}

func render(t kindTemplates, m Message) (Rendered, error) {
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", m); err != nil {
		return Rendered{}, fmt.Errorf("subject: %w", err)
	}
	if err := t.text.ExecuteTemplate(&text, "text", m); err != nil {
		return Rendered{}, fmt.Errorf("text body: %w", err)
	}
	if err := t.html.ExecuteTemplate(&html, "html", m); err != nil {
		return Rendered{}, fmt.Errorf("HTML body: %w", err)
	}
	subj := oneLine(subject.String())
	if subj == "" {
		return Rendered{}, errors.New("the subject came out empty")
	}

	h, err := m.header(subj)
	if err != nil {
		return Rendered{}, err
	}

	var ics []byte
	if m.Kind == group.Invitation {
		if ics, err = calendar(t, m); err != nil {
			return Rendered{}, err
		}
	}

	var raw bytes.Buffer
	if err := writeMIME(&raw, h, text.Bytes(), html.Bytes(), ics, m.method()); err != nil {
		return Rendered{}, fmt.Errorf("write MIME: %w", err)
	}
	return Rendered{Subject: subj, Raw: raw.Bytes()}, nil
}

// Calendar is the .ics a member's invitation carries (the same bytes as its
// invite.ics attachment), for the member's "add to calendar" download.
func (r *Renderer) Calendar(m Message) ([]byte, error) {
	m.Kind = group.Invitation
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("calendar for meeting %s, member %s: %w", m.Meeting.ID, m.Member.ID, err)
	}
	return calendar(r.kinds[group.Invitation], m)
}

func calendar(t kindTemplates, m Message) ([]byte, error) {
	var description bytes.Buffer
	if err := t.text.ExecuteTemplate(&description, "calendar", m); err != nil {
		return nil, fmt.Errorf("calendar description: %w", err)
	}
	return m.invite(strings.TrimSpace(description.String())).Bytes()
}

// method is the iTIP method of an invitation's calendar part.
func (m Message) method() string {
	if m.Meeting.Cancelled() {
		return ical.MethodCancel
	}
	return ical.MethodRequest
}

func (m Message) invite(description string) ical.Invite {
	member := m.Member
	member.Name = oneLine(member.Name)
	organizer, rsvp := mail.Address{Name: m.fromName(), Address: m.Group.From.Address}, false
	if m.Organizer != nil {
		organizer, rsvp = *m.Organizer, true
	}
	return ical.Invite{
		RSVP:        rsvp,
		Method:      m.method(),
		Meeting:     m.Meeting,
		Organizer:   organizer,
		Attendee:    &member,
		Sequence:    m.Sequence,
		Stamp:       m.Now,
		Description: description,
		URL:         m.Links.MeetingPage,
		UIDDomain:   m.Group.UIDDomain(),
	}
}

func (m Message) fromName() string {
	if n := oneLine(m.Group.From.Name); n != "" {
		return n
	}
	return oneLine(m.Group.Name)
}

// writeMIME lays out the message: multipart/alternative (text, HTML) for most
// kinds; for an invitation, multipart/mixed holding multipart/alternative (text,
// HTML, text/calendar with the iTIP method) and the same calendar as invite.ics.
func writeMIME(w *bytes.Buffer, h mail.Header, text, html, ics []byte, method string) error {
	textHeader := func(contentType string, params map[string]string) mail.InlineHeader {
		var ih mail.InlineHeader
		ih.SetContentType(contentType, params)
		return ih
	}
	writeAlternatives := func(iw *mail.InlineWriter) error {
		parts := []struct {
			header mail.InlineHeader
			body   []byte
		}{
			{textHeader("text/plain", map[string]string{"charset": "utf-8"}), text},
			{textHeader("text/html", map[string]string{"charset": "utf-8"}), html},
		}
		if ics != nil {
			ch := textHeader("text/calendar", map[string]string{"charset": "UTF-8", "method": method})
			ch.Set("Content-Transfer-Encoding", "base64")
			parts = append(parts, struct {
				header mail.InlineHeader
				body   []byte
			}{ch, ics})
		}
		for _, p := range parts {
			pw, err := iw.CreatePart(p.header)
			if err != nil {
				return err
			}
			if _, err := pw.Write(p.body); err != nil {
				return err
			}
			if err := pw.Close(); err != nil {
				return err
			}
		}
		return iw.Close()
	}

	if ics == nil {
		iw, err := mail.CreateInlineWriter(w, h)
		if err != nil {
			return err
		}
		return writeAlternatives(iw)
	}

	mw, err := mail.CreateWriter(w, h)
	if err != nil {
		return err
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return err
	}
	if err := writeAlternatives(iw); err != nil {
		return err
	}
	var ah mail.AttachmentHeader
	ah.SetContentType("application/ics", map[string]string{"name": "invite.ics"})
	ah.SetFilename("invite.ics")
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := aw.Write(ics); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	return mw.Close()
}

// header builds the message header. Every value goes through go-message's setters
// (which RFC 2047-encode text and reject CR/LF at write time); before that, human
// text has its line breaks flattened and machine values (addresses, links, ids)
// are refused if they hold anything but printable characters.
func (m Message) header(subject string) (mail.Header, error) {
	var h mail.Header
	h.SetDate(m.Now)
	h.SetAddressList("From", []*mail.Address{{Name: m.fromName(), Address: m.Group.From.Address}})
	h.SetAddressList("To", []*mail.Address{{Name: oneLine(m.Member.Name), Address: m.Member.Email}})
	var replyTo []*mail.Address
	for _, o := range m.Group.Organizers {
		if strings.TrimSpace(o) == "" {
			continue
		}
		a, err := parseAddress(o)
		if err != nil {
			return mail.Header{}, fmt.Errorf("organizer address: %w", err)
		}
		replyTo = append(replyTo, a)
	}
	if m.Introduction != nil {
		replyTo = m.Introduction.replyTo() // a reply goes to the other member
	}
	h.SetAddressList("Reply-To", replyTo)
	h.SetSubject(subject)

	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(m.MessageID), "<"), ">")
	if id == "" {
		var err error
		if id, err = newMessageID(m.Group.UIDDomain()); err != nil {
			return mail.Header{}, err
		}
	}
	if left, right, ok := strings.Cut(id, "@"); !ok || left == "" || right == "" || !printable(id) ||
		strings.ContainsAny(right, "@") || strings.ContainsAny(id, `<>"\()[],;:`) {
		return mail.Header{}, fmt.Errorf("message id %q is not left@right", m.MessageID)
	}
	h.SetMessageID(id)

	h.Set("List-Unsubscribe", "<"+m.Links.UnsubscribeOneClick+">")
	h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	return h, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newMessageID returns random@domain with 128 random bits.
func newMessageID(domain string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return strings.ToLower(idEncoding.EncodeToString(b)) + "@" + domain, nil
}

func (m Message) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Now.IsZero() {
		bad("Now is not set")
	}
	if _, err := checkAddress(m.Group.From.Address); err != nil {
		bad("From: %v", err)
	}
	if m.fromName() == "" {
		bad("the group has no name")
	}
	if _, err := checkAddress(m.Member.Email); err != nil {
		bad("member %s: %v", m.Member.ID, err)
	}
	mt := m.Meeting
	if oneLine(mt.Title) == "" {
		bad("the meeting has no title")
	}
	if mt.Start.IsZero() || !mt.End.After(mt.Start) {
		bad("the meeting must start (%v) before it ends (%v)", mt.Start, mt.End)
	}
	if mt.Cancelled() && m.Kind != group.Invitation {
		bad("the meeting is cancelled: only the cancellation (an invitation) may be sent")
	}

	links := map[string]string{"Unsubscribe": m.Links.Unsubscribe, "UnsubscribeOneClick": m.Links.UnsubscribeOneClick}
	optional := map[string]string{"Calendar": m.Links.Calendar, "MeetingPage": m.Links.MeetingPage}
	rsvp := map[string]string{"Yes": m.Links.Yes, "Maybe": m.Links.Maybe, "No": m.Links.No}
	switch m.Kind {
	case group.Invitation:
		if !mt.Cancelled() {
			addAll(links, rsvp)
		} else {
			addAll(optional, rsvp)
		}
		optional["Pub"] = m.Links.Pub
	case group.Reminder:
		addAll(links, rsvp)
		optional["Pub"] = m.Links.Pub
	case group.Teaser:
		if oneLine(m.Icebreaker) == "" {
			bad("the teaser has no icebreaker question")
		}
		addAll(optional, rsvp)
		optional["Pub"] = m.Links.Pub
	case group.Pub:
		if !mt.HasPub() {
			bad("the meeting has no pub_name")
		}
		links["Pub"] = m.Links.Pub
		addAll(optional, rsvp)
	case group.Connections:
		links["Met"] = m.Links.Met
	case group.Introduction:
		errs = append(errs, m.Introduction.validate()...)
		optional["Met"] = m.Links.Met
	}
	for name, u := range links {
		if u == "" {
			bad("link %s is missing", name)
		}
	}
	for name, u := range links {
		if u != "" {
			if err := checkURL(u, name == "UnsubscribeOneClick"); err != nil {
				bad("link %s: %v", name, err)
			}
		}
	}
	for name, u := range optional {
		if u != "" {
			if err := checkURL(u, false); err != nil {
				bad("link %s: %v", name, err)
			}
		}
	}
	if mt.PubURL != "" {
		if err := checkURL(mt.PubURL, false); err != nil {
			bad("pub_url: %v", err)
		}
	}
	return errors.Join(errs...)
}

func addAll(dst, src map[string]string) {
	for k, v := range src {
		dst[k] = v
	}
}

// checkURL accepts an absolute http(s) URL of printable ASCII. With oneClick, it
// must be https (RFC 8058), except on a loopback host for the local stack.
func checkURL(s string, oneClick bool) error {
	u, err := url.Parse(s)
	if err != nil || !printable(s) || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return fmt.Errorf("%q is not ASCII (percent-encode it)", s)
		}
	}
	if oneClick && u.Scheme != "https" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q must be https for one-click unsubscribe (RFC 8058)", s)
		}
	}
	return nil
}

// checkAddress accepts a bare addr-spec.
func checkAddress(addr string) (*mail.Address, error) {
	if addr == "" {
		return nil, errors.New("no email address")
	}
	if !printable(addr) {
		return nil, fmt.Errorf("email address %q has spaces or control characters", addr)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return nil, fmt.Errorf("%q is not a plain email address", addr)
	}
	return a, nil
}

// parseAddress accepts "Name <addr>" or a bare address, on one line.
func parseAddress(s string) (*mail.Address, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%q has a line break", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address: %w", s, err)
	}
	if _, err := checkAddress(a.Address); err != nil {
		return nil, err
	}
	a.Name = oneLine(a.Name)
	return a, nil
}

// printable reports whether s is non-empty text with no spaces or control characters.
func printable(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// oneLine flattens human text bound for a header or a one-line slot: line breaks,
// tabs and other control characters become single spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
