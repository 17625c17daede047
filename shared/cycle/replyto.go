package cycle

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// ReplyLocalPrefix starts the local part of every reply address:
// rsvp+<reply token>@<reply domain>.
const ReplyLocalPrefix = "rsvp+"

// firstAnnouncement is what a meeting's first announcement fixes about its
// ORGANIZER: the reply domain configured then, and the key that signs its reply
// tokens (the current one).
func (r *Runner) firstAnnouncement(a group.Announcement) group.Announcement {
	if r.Config.ReplyDomain != "" && r.Links.Signer != nil {
		a.ReplyDomain, a.ReplyKey = r.Config.ReplyDomain, r.Links.Signer.KeyID()
	}
	return a
}

// Organizer is the ORGANIZER of member's calendar of meeting m as announced in a:
// rsvp+TOKEN@<reply domain>, named after the group, so the member's calendar can
// answer by email. Nil when the meeting was announced without a reply domain: its
// calendars hold From as ORGANIZER and keep it (calendars match updates by UID and
// ORGANIZER). The token is signed with the key of the first announcement while the
// signer still holds it, so a rotation does not change the address.
func (r *Runner) Organizer(a group.Announcement, m group.Meeting, member group.Member, at time.Time) (*mail.Address, error) {
	if a.ReplyDomain == "" {
		return nil, nil
	}
	kid := a.ReplyKey
	if !r.Links.Signer.HasKey(kid, at) {
		r.Log.Warn("the key of the meeting's reply addresses is retired: its calendars get a new ORGANIZER", "meeting", m.ID)
		kid = ""
	}
	tok, err := r.Links.Signer.ReplyToken(kid, member.ID, m.ID)
	if err != nil {
		return nil, fmt.Errorf("reply address of %s for %s: %w", m.ID, member.ID, err)
	}
	return &mail.Address{Name: r.Config.GroupName, Address: ReplyLocalPrefix + tok + "@" + a.ReplyDomain}, nil
}

// CalendarOrganizer is Organizer for a calendar made outside a run (a download, a
// preview): as announced, or as it would be announced now.
func (r *Runner) CalendarOrganizer(ctx context.Context, m group.Meeting, member group.Member, at time.Time) (*mail.Address, error) {
	a, err := r.Store.Announcement(ctx, m.ID)
	switch {
	case errors.Is(err, group.ErrNotFound):
		a = r.firstAnnouncement(group.Announcement{})
	case err != nil:
		return nil, err
	}
	return r.Organizer(a, m, member, at)
}
