package web

import (
	"context"
	"fmt"

	"github.com/afterparty/afterparty/shared/group"
)

// CalendarBooking is what an answer from a member's calendar recorded.
type CalendarBooking struct {
	RSVP     group.RSVP
	Position int // on the waitlist (1 = next), 0 if not on it
}

// CalendarAnswer records an answer a member gave in their calendar app (an iMIP
// REPLY received by the replies function) through the same path as the RSVP page's
// POST: capacity, waitlist and the promotion email (in the outbox) for whoever it lets in. Their
// guests stay as they were (a calendar cannot say). A Yes that lands on the
// waitlist is told so by email (recorded in the outbox), since their calendar now says Yes. The caller
// checks the meeting is open (not cancelled, not started).
func (s *Site) CalendarAnswer(ctx context.Context, m group.Meeting, member group.Member, a group.Answer) (CalendarBooking, error) {
	guests := 0
	if cur, err := s.Store.RSVP(ctx, m.ID, member.ID); err == nil {
		guests = cur.Guests
	}
	b, err := s.Store.Answer(ctx, m.ID, member.ID, a, guests, m.Capacity, group.SourceCalendar, s.Clock())
	if err != nil {
		return CalendarBooking{}, err
	}
	s.Log.Info("RSVP recorded", "meeting", m.ID, "member", member.ID, "answer", b.RSVP.Answer, "place", b.RSVP.Place, "guests", b.RSVP.Guests, "source", "calendar")
	s.notifyPromoted(nil, m, b.Promoted)
	if a == group.Yes && b.RSVP.Place == group.PlaceWaitlisted {
		p, err := s.Store.Places(ctx, m.ID)
		if err != nil {
			return CalendarBooking{RSVP: b.RSVP, Position: b.Position}, fmt.Errorf("tell %s they are on the waitlist: %w", member.ID, err)
		}
		if since := p.QueuedSince(member.ID); since != "" {
			in := group.NewIntent(group.IntentWaitlisted, m.ID, member.ID, since, s.Clock())
			in.Position = b.Position
			if err := s.record(ctx, in); err != nil {
				return CalendarBooking{RSVP: b.RSVP, Position: b.Position}, fmt.Errorf("tell %s they are on the waitlist: %w", member.ID, err)
			}
		}
	}
	return CalendarBooking{RSVP: b.RSVP, Position: b.Position}, nil
}
