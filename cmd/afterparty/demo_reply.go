package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	gomail "github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/replies"
	"github.com/afterparty/afterparty/shared/setup"
)

// demoReplyDomain is the reply domain `make run` uses when AFTERPARTY_REPLY_DOMAIN
// is not set, so the demo's invitations carry reply addresses and a member can
// answer from their calendar.
const demoReplyDomain = "reply.afterparty.example"

// calendarPartstat is the PARTSTAT a calendar sends for each answer.
var calendarPartstat = map[group.Answer]ics.ParticipationStatus{
	group.Yes: ics.ParticipationStatusAccepted, group.Maybe: ics.ParticipationStatusTentative, group.No: ics.ParticipationStatusDeclined,
}

// calendarReply is the iMIP REPLY a member's calendar app (here shaped as
// Thunderbird's) sends when they press an answer on the invitation: to the
// invitation's ORGANIZER (their reply address), at the SEQUENCE their calendar holds.
func calendarReply(m group.Meeting, uid string, member group.Member, organizer *mail.Address, seq int, ans group.Answer, at time.Time) ([]byte, error) {
	cal := ics.NewCalendar()
	cal.SetProductId("-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN")
	cal.SetMethod(ics.MethodReply)
	ev := cal.AddEvent(uid)
	ev.SetDtStampTime(at)
	ev.SetSummary(m.Title)
	ev.SetOrganizer("mailto:"+organizer.Address, ics.WithCN(organizer.Name))
	ev.AddAttendee("mailto:"+member.Email, ics.WithCN(member.Name), calendarPartstat[ans])
	ev.SetStartAt(m.Start)
	ev.SetEndAt(m.End)
	ev.SetLocation(m.Venue)
	ev.SetSequence(seq)

	var hd gomail.Header
	hd.SetDate(at)
	hd.SetAddressList("From", []*gomail.Address{{Name: member.Name, Address: member.Email}})
	hd.SetAddressList("To", []*gomail.Address{{Name: organizer.Name, Address: organizer.Address}})
	verb := map[group.Answer]string{group.Yes: "Accepted", group.Maybe: "Tentatively accepted", group.No: "Declined"}[ans]
	hd.SetSubject(verb + ": " + m.Title)
	if err := hd.GenerateMessageID(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w, err := gomail.CreateWriter(&b, hd)
	if err != nil {
		return nil, err
	}
	iw, err := w.CreateInline()
	if err != nil {
		return nil, err
	}
	part := func(contentType string, params map[string]string, body string) error {
		var h gomail.InlineHeader
		h.SetContentType(contentType, params)
		h.Set("Content-Transfer-Encoding", "8bit") // as Thunderbird sends it; lines are short (iCalendar folds at 75)
		pw, err := iw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, body); err != nil {
			return err
		}
		return pw.Close()
	}
	if err := part("text/plain", map[string]string{"charset": "UTF-8"}, fmt.Sprintf("%s has %s your event invitation.\r\n", member.Name, strings.ToLower(verb))); err != nil {
		return nil, err
	}
	if err := part("text/calendar", map[string]string{"method": "REPLY", "charset": "UTF-8"}, cal.Serialize()); err != nil {
		return nil, err
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// demoCalendarAnswer has member press ans in their calendar app at `at`: the REPLY
// their calendar sends to their reply address runs through the replies function's
// handler, as `afterparty inbound` runs a stored one. It returns the message and
// what the handler did.
func demoCalendarAnswer(ctx context.Context, a *setup.App, m group.Meeting, member group.Member, ans group.Answer, at time.Time) ([]byte, replies.Outcome, error) {
	org, err := a.Runner.CalendarOrganizer(ctx, m, member, at)
	if err != nil {
		return nil, replies.Outcome{}, err
	}
	if org == nil {
		return nil, replies.Outcome{}, fmt.Errorf("meeting %s was announced without a reply domain: its calendars cannot answer by email", m.ID)
	}
	seq, err := a.Runner.Sequence(ctx, m.ID)
	if err != nil {
		return nil, replies.Outcome{}, err
	}
	from, err := mail.ParseAddress(a.Config.From)
	if err != nil {
		return nil, replies.Outcome{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	uid := m.ID + "@" + emails.Group{From: *from}.UIDDomain()
	raw, err := calendarReply(m, uid, member, org, seq, ans, at)
	if err != nil {
		return nil, replies.Outcome{}, fmt.Errorf("build the calendar reply: %w", err)
	}
	h, err := a.Replies()
	if err != nil {
		return nil, replies.Outcome{}, err
	}
	h.Clock = func() time.Time { return at }
	out, err := h.Inbound(ctx, raw, nil, "", fileVerdicts(true))
	return raw, out, err
}
