package cycle

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/icebreakers"
)

// PreviewKinds are what `afterparty preview` can show: the member kinds, and the
// invitation as an update or a cancellation.
var PreviewKinds = append(append([]string{}, kindNames()...), "update", "cancel")

func kindNames() []string {
	out := make([]string, len(group.Kinds))
	for i, k := range group.Kinds {
		out[i] = string(k)
	}
	return out
}

// Preview renders the email a member would get of what ("invitation", "reminder",
// "teaser", "pub", "update", "cancel") for meeting m at `at`, through the same
// Message and Renderer a run uses. It writes nothing: an icebreaker not yet drawn
// is the one the bank would give now.
func (r *Runner) Preview(ctx context.Context, what string, m group.Meeting, member group.Member, at time.Time) (emails.Rendered, error) {
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return emails.Rendered{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	kind := group.Kind(what)
	if what == "update" || what == "cancel" {
		kind = group.Invitation
	}
	if _, ok := group.ParseKind(string(kind)); !ok {
		return emails.Rendered{}, fmt.Errorf("cannot preview %q: use one of %v", what, PreviewKinds)
	}
	icebreaker := m.Icebreaker
	if icebreaker == "" && (kind == group.Teaser || kind == group.Reminder) {
		if icebreaker, err = r.PeekIcebreaker(ctx, m); err != nil {
			return emails.Rendered{}, err
		}
	}
	if what == "cancel" {
		m.Status = group.StatusCancelled
	}
	msg := r.Message(kind, m, member, *from, icebreaker, at)
	if kind == group.Invitation {
		if msg.Organizer, err = r.CalendarOrganizer(ctx, m, member, at); err != nil {
			return emails.Rendered{}, err
		}
	}
	switch what {
	case "invitation":
		if msg.Sequence, err = r.Sequence(ctx, m.ID); err != nil {
			return emails.Rendered{}, err
		}
	case "update", "cancel":
		a, err := r.Store.Announcement(ctx, m.ID)
		switch {
		case errors.Is(err, group.ErrNotFound) && what == "update":
			return emails.Rendered{}, fmt.Errorf("meeting %s has not been announced yet: its first invitation will carry any change (preview invitation)", m.ID)
		case errors.Is(err, group.ErrNotFound):
			msg.Sequence = 1
		case err != nil:
			return emails.Rendered{}, err
		case a.Fingerprint != fingerprint(calendarState(m)):
			msg.Sequence, msg.Changes = a.Sequence+1, emails.Changes(asMeeting(a.Current), m)
		case a.Previous != nil:
			msg.Sequence, msg.Changes = a.Sequence, emails.Changes(asMeeting(*a.Previous), m)
		default:
			return emails.Rendered{}, fmt.Errorf("meeting %s is as its invitation announced it: no update would go out", m.ID)
		}
	}
	return r.Renderer.Render(msg)
}

// PeekIcebreaker is the meeting's question as Icebreaker would give it, without
// drawing it.
func (r *Runner) PeekIcebreaker(ctx context.Context, m group.Meeting) (string, error) {
	q, _, err := r.icebreaker(ctx, m)
	return q, err
}

// draw picks the next question for a meeting: the organizers' own questions first,
// in the order they were added, then the shipped bank; none is repeated until all
// of them have been asked (used holds what every meeting got, by meeting id).
func (r *Runner) draw(ctx context.Context, used map[string]string, seed string) (string, error) {
	taken := make(map[string]bool, len(used))
	for _, q := range used {
		taken[q] = true
	}
	own, err := r.Store.Questions(ctx)
	if err != nil {
		return "", err
	}
	for _, q := range own {
		if !taken[q.Text] {
			return q.Text, nil
		}
	}
	return icebreakers.Pick(taken, seed), nil
}
