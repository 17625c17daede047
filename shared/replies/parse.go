// Package replies handles mail SES receives on the group's reply domain: iMIP
// REPLYs from members' calendar apps (Yes / Maybe / No pressed in Gmail, Outlook,
// Apple Calendar...) are recorded through the same path as the RSVP page, and
// messages people write (or a calendar COUNTER, or an Outlook TNEF reply) are
// forwarded once to the organizers. MIME and transfer encodings are read by
// github.com/emersion/go-message, calendars by github.com/arran4/golang-ical.
package replies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"path"
	"strings"

	ics "github.com/arran4/golang-ical"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // non-UTF-8 charsets in text parts
	gomail "github.com/emersion/go-message/mail"
)

// maxPart bounds how much of one MIME part is read: calendars and text are small;
// a large attachment is only noted.
const maxPart = 1 << 20

// Parsed is what a received message says, as far as replies cares.
type Parsed struct {
	From      *mail.Address
	To        []string
	Subject   string
	MessageID string
	// Auto says why the message was written by a machine ("" if by a person):
	// an auto-reply (RFC 3834 Auto-Submitted, Precedence, X-Autoreply) or a
	// delivery report.
	Auto      string
	Text      string     // the first text/plain part (or text/html's, as is)
	Calendars []Calendar // every text/calendar part and attached .ics
	TNEF      bool       // an Outlook winmail.dat (application/ms-tnef) part
	Header    message.Header
}

// Calendar is one iTIP object of the message.
type Calendar struct {
	Method string
	Events []Event
}

// Event is one VEVENT of a calendar, with its attendees' answers.
type Event struct {
	UID       string
	Sequence  int
	Organizer string // mailto address, lower case; "" if absent (Outlook.com)
	Attendees []Attendee
}

// Attendee is an ATTENDEE line of a REPLY.
type Attendee struct {
	Email    string // lower case
	PartStat string // ACCEPTED, TENTATIVE, DECLINED, ...
}

// Parse reads a raw RFC 5322 message (CRLF or bare LF line endings).
func Parse(raw []byte) (*Parsed, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("read message: %w", err)
	}
	p := &Parsed{Header: e.Header}
	h := gomail.Header{Header: e.Header}
	if a, err := h.AddressList("From"); err == nil && len(a) > 0 {
		p.From = a[0]
		p.From.Address = strings.ToLower(p.From.Address)
	}
	for _, f := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
		if as, err := h.AddressList(f); err == nil {
			for _, a := range as {
				p.To = append(p.To, strings.ToLower(a.Address))
			}
		}
	}
	p.Subject = decodeWord(e.Header.Get("Subject"))
	p.MessageID = strings.Trim(strings.TrimSpace(e.Header.Get("Message-Id")), "<>")
	p.Auto = autoReason(e.Header, p.From)
	err = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			if message.IsUnknownCharset(err) || message.IsUnknownEncoding(err) {
				return nil
			}
			return err
		}
		t, params, _ := part.Header.ContentType()
		t = strings.ToLower(t)
		_, dparams, _ := part.Header.ContentDisposition()
		name := strings.ToLower(dparams["filename"])
		if name == "" {
			name = strings.ToLower(params["name"])
		}
		switch {
		case strings.HasPrefix(t, "multipart/"):
			if t == "multipart/report" {
				p.Auto = "delivery report"
			}
			return nil
		case t == "message/delivery-status" || t == "message/disposition-notification":
			p.Auto = "delivery report"
		case t == "application/ms-tnef" || t == "application/vnd.ms-tnef" || name == "winmail.dat":
			p.TNEF = true
		case t == "text/calendar" || t == "application/ics" || path.Ext(name) == ".ics":
			body, err := io.ReadAll(io.LimitReader(part.Body, maxPart))
			if err != nil {
				return fmt.Errorf("read calendar part: %w", err)
			}
			c, err := parseCalendar(body)
			if err != nil {
				return nil // a broken calendar part is not a reply; the rest of the message may be
			}
			p.Calendars = append(p.Calendars, c)
		case (t == "text/plain" || t == "") && p.Text == "" && !strings.HasPrefix(strings.ToLower(part.Header.Get("Content-Disposition")), "attachment"):
			body, err := io.ReadAll(io.LimitReader(part.Body, maxPart))
			if err != nil {
				return fmt.Errorf("read text part: %w", err)
			}
			p.Text = string(body)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read message parts: %w", err)
	}
	return p, nil
}

func decodeWord(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// autoReason says why a message was sent by a machine, or "".
func autoReason(h message.Header, from *mail.Address) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + h.Get("Precedence")
	}
	for _, f := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"} {
		if h.Get(f) != "" {
			return f
		}
	}
	if strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "multipart/report") {
		return "delivery report"
	}
	if from != nil {
		local, _, _ := strings.Cut(from.Address, "@")
		if local == "mailer-daemon" || local == "postmaster" {
			return "delivery report"
		}
	}
	return ""
}

// parseCalendar reads an iTIP object with golang-ical after making its line
// endings CRLF (clients and gateways send bare LF; folded lines then unfold).
func parseCalendar(b []byte) (Calendar, error) {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		return Calendar{}, fmt.Errorf("parse calendar: %w", err)
	}
	var c Calendar
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			c.Method = strings.ToUpper(strings.TrimSpace(p.Value))
		}
	}
	for _, ev := range cal.Events() {
		e := Event{UID: ev.Id()}
		if p := ev.GetProperty(ics.ComponentPropertySequence); p != nil {
			fmt.Sscanf(strings.TrimSpace(p.Value), "%d", &e.Sequence)
		}
		if p := ev.GetProperty(ics.ComponentPropertyOrganizer); p != nil {
			e.Organizer = calAddress(p.Value)
		}
		for _, a := range ev.Attendees() {
			ps := ""
			if v := a.ICalParameters[string(ics.ParameterParticipationStatus)]; len(v) > 0 {
				ps = strings.ToUpper(v[0])
			}
			e.Attendees = append(e.Attendees, Attendee{Email: calAddress(a.Value), PartStat: ps})
		}
		c.Events = append(c.Events, e)
	}
	if c.Method == "" {
		return c, errors.New("calendar has no METHOD")
	}
	return c, nil
}

func calAddress(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return strings.ToLower(v)
}
