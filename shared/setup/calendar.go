package setup

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
	"github.com/afterparty/afterparty/shared/web"
)

// calendar gives the site its .ics files: a member's invite is rendered by the same
// code as their invitation's attachment; the feed uses the same UIDs.
type calendar struct {
	runner    *cycle.Runner
	group     string
	organizer mail.Address
	uidDomain string
}

var _ web.Calendar = calendar{}

func newCalendar(r *cycle.Runner) (calendar, error) {
	a, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return calendar{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	g := emails.Group{Name: r.Config.GroupName, From: *a}
	return calendar{runner: r, group: r.Config.GroupName, organizer: *a, uidDomain: g.UIDDomain()}, nil
}

// lookupTimeout bounds the SEQUENCE lookups of a download or the feed (web.Calendar
// passes no context).
const lookupTimeout = 5 * time.Second

// MemberInvite is the member's own invite, as attached to their invitation, at the
// meeting's current SEQUENCE: a calendar ignores an invite older than the one it has.
func (c calendar) MemberInvite(m group.Meeting, member group.Member, now time.Time) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	seq, err := c.runner.Sequence(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	msg := c.runner.Message(group.Invitation, m, member, c.organizer, "", now)
	msg.Sequence = seq
	if msg.Organizer, err = c.runner.CalendarOrganizer(ctx, m, member, now); err != nil {
		return nil, err
	}
	return c.runner.Renderer.Calendar(msg)
}

// Feed is the group's public calendar: no attendees, no member data; each event has
// the UID and SEQUENCE of the meeting's invitations.
func (c calendar) Feed(ms []group.Meeting, now time.Time) ([]byte, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	seqs, err := c.runner.Store.Sequences(ctx, ids)
	if err != nil {
		return nil, err
	}
	invites := make([]ical.Invite, len(ms))
	for i, m := range ms {
		invites[i] = ical.Invite{
			Method: ical.MethodPublish, Meeting: m, Organizer: c.organizer, Stamp: now, Sequence: seqs[m.ID],
			Description: m.Topic, URL: c.runner.Links.BaseURL + "/m/" + m.ID, UIDDomain: c.uidDomain,
		}
	}
	return ical.Feed(c.group, invites)
}
