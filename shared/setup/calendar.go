package setup

import (
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

// MemberInvite is the member's own invite, as attached to their invitation.
func (c calendar) MemberInvite(m group.Meeting, member group.Member, now time.Time) ([]byte, error) {
	return c.runner.Renderer.Calendar(c.runner.Message(group.Invitation, m, member, c.organizer, "", now))
}

// Feed is the group's public calendar: no attendees, no member data.
func (c calendar) Feed(ms []group.Meeting, now time.Time) ([]byte, error) {
	invites := make([]ical.Invite, len(ms))
	for i, m := range ms {
		invites[i] = ical.Invite{
			Method: "PUBLISH", Meeting: m, Organizer: c.organizer, Stamp: now,
			Description: m.Topic, URL: c.runner.Links.BaseURL + "/m/" + m.ID, UIDDomain: c.uidDomain,
		}
	}
	return ical.Feed(c.group, invites)
}
