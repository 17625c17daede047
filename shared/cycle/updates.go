package cycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// Updates and cancellations. When the invitation campaign first runs for a meeting,
// the meeting's calendar state (time, zone, venue, status) is recorded as announced
// at SEQUENCE 0. Every invitations run compares each meeting with what was
// announced; a difference raises the SEQUENCE by one conditional write (concurrent
// runs agree on one new value), and a campaign of kind update-<seq> sends the
// invitation at that SEQUENCE, saying what changed (METHOD:CANCEL for a
// cancellation), to every member whose invitation carried an older SEQUENCE and who
// is still active (muting invitations does not stop it: their calendar holds the
// meeting). Invitations sent after that carry the new SEQUENCE, and their
// ledger entry says so, so their members get no update for it. Two edits before a
// run are one update; an edit outside the calendar state (the topic) is none.

// UpdateKind is the campaign kind of the update that raised a meeting's SEQUENCE
// to seq; its ledger is SEND#<meeting>#update-<seq>.
func UpdateKind(seq int) string { return "update-" + strconv.Itoa(seq) }

// calendarState is what members' calendars must be told about when it changes.
// emails.Changes words the same fields; TestChangesAgreeWithFingerprint holds them
// together.
func calendarState(m group.Meeting) group.CalendarState {
	zone := ""
	if m.Location != nil {
		zone = m.Location.String()
	}
	return group.CalendarState{
		Start: m.Start.UTC(), End: m.End.UTC(), TimeZone: zone,
		Venue: m.Venue, VenueAddress: m.VenueAddress, Status: m.Status,
	}
}

// fingerprint identifies a calendar state.
func fingerprint(s group.CalendarState) string {
	h := sha256.New()
	for _, f := range []string{
		s.Start.UTC().Format(time.RFC3339Nano), s.End.UTC().Format(time.RFC3339Nano),
		s.TimeZone, s.Venue, s.VenueAddress, s.Status,
	} {
		fmt.Fprintf(h, "%d:%s\x00", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// asMeeting is the meeting as a calendar state described it: enough for
// emails.Changes to say what changed since.
func asMeeting(s group.CalendarState) group.Meeting {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		loc = time.UTC
	}
	return group.Meeting{
		Start: s.Start.In(loc), End: s.End.In(loc), Location: loc,
		Venue: s.Venue, VenueAddress: s.VenueAddress, Status: s.Status,
	}
}

// announced is what announce decided for one meeting.
type announced struct {
	sequence int // the SEQUENCE the meeting's invitations carry now
	current  group.Announcement
	update   *MeetingReport // the update campaign it ran, if any
	wait     string         // why the meeting's invitations wait for the next run ("" to go on)
}

// announce brings meeting m's announced state up to date at `at`, runs the update
// (or cancellation) campaign it calls for, and says which SEQUENCE invitations
// carry. A meeting never invited is announced only when its invitations are due;
// a meeting that has ended is left as it was last announced.
func (r *Runner) announce(ctx context.Context, engine *campaign.Engine, m group.Meeting, at time.Time) (announced, error) {
	state := calendarState(m)
	fp := fingerprint(state)
	a, err := r.Store.Announcement(ctx, m.ID)
	switch {
	case errors.Is(err, group.ErrNotFound):
		if due, _ := r.Config.Leads.Due(group.Invitation, m, at); !due {
			return announced{}, nil
		}
		if a, err = r.Store.Announce(ctx, m.ID, r.firstAnnouncement(group.Announcement{Fingerprint: fp, Current: state, At: at})); err != nil {
			return announced{}, err
		}
	case err != nil:
		return announced{}, err
	}
	if !at.Before(m.End) {
		return announced{sequence: a.Sequence, current: a}, nil
	}
	if a.Fingerprint != fp {
		from := a.Sequence
		if a, err = r.Store.Reannounce(ctx, m.ID, from, group.Announcement{Fingerprint: fp, Current: state, At: at}); err != nil {
			return announced{}, err
		}
		if a.Sequence == from+1 && a.Fingerprint == fp {
			r.Log.Info("meeting changed since it was announced", "meeting", m.ID, "sequence", a.Sequence)
		}
	}
	if a.Fingerprint != fp {
		// Another run announced another version of the row: this run's copy is
		// stale or newer, and sending it at that SEQUENCE would make calendars
		// disagree. The next run reads the row again and settles it.
		return announced{wait: "the schedule row changed during this run; the next run sends"}, nil
	}
	if a.Sequence == 0 || a.Previous == nil {
		return announced{sequence: a.Sequence, current: a}, nil
	}
	mr := &MeetingReport{MeetingID: m.ID, Campaign: UpdateKind(a.Sequence), Sent: true}
	mr.Result, err = r.runUpdate(ctx, engine, m, a, at)
	return announced{sequence: a.Sequence, current: a, update: mr}, err
}

// runUpdate sends the update (or cancellation) at announcement a to every member
// whose invitation is older than it.
func (r *Runner) runUpdate(ctx context.Context, engine *campaign.Engine, m group.Meeting, a group.Announcement, at time.Time) (campaign.Result, error) {
	kind := UpdateKind(a.Sequence)
	c, err := r.Store.StartCampaign(ctx, m.ID, kind, at)
	if err != nil {
		return campaign.Result{}, err
	}
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	changes := emails.Changes(asMeeting(*a.Previous), m)
	if len(changes) == 0 { // cannot happen while Changes and fingerprint agree; never send an update that says nothing
		changes = []string{"Some details changed: here are the latest."}
	}
	return engine.Run(ctx, campaign.Job{
		MeetingID: m.ID,
		Kind:      kind,
		Resume:    c.Cursor,
		From:      r.Config.From,
		Page:      r.scoped(r.invitees(m, a.Sequence)),
		Render: func(_ context.Context, member group.Member) ([]byte, error) {
			msg := r.Message(group.Invitation, m, member, *from, "", at)
			msg.Now = r.Clock() // Date and DTSTAMP: when it goes out, not when the run started
			msg.Sequence, msg.Changes = a.Sequence, changes
			org, err := r.Organizer(a, m, member, at)
			if err != nil {
				return nil, err
			}
			msg.Organizer = org
			out, err := r.Renderer.Render(msg)
			return out.Raw, err
		},
	})
}

// invitees pages through the meeting's invitation ledger for the members an update
// at seq is for: sent an invitation older than seq, and still active, even if they
// have muted invitations since (their calendar holds the meeting). An invitation
// being sent right now is not confirmed yet: a later run updates its member.
func (r *Runner) invitees(m group.Meeting, seq int) func(context.Context, string) (campaign.Batch, error) {
	ledger := group.CampaignID(m.ID, string(group.Invitation))
	return func(ctx context.Context, after string) (campaign.Batch, error) {
		sent, next, err := r.Store.SentCalendarsPage(ctx, ledger, after, pageSize)
		if err != nil {
			return campaign.Batch{}, err
		}
		var ids []string
		for _, s := range sent {
			if s.State == group.SendSent && s.Sequence < seq {
				ids = append(ids, s.MemberID)
			}
		}
		members, err := r.Store.Members(ctx, ids)
		if err != nil {
			return campaign.Batch{}, err
		}
		b := campaign.Batch{Next: next}
		for _, id := range ids {
			if mem, ok := members[id]; ok && mem.WantsCalendarChanges() {
				b.Members = append(b.Members, mem)
			}
		}
		return b, nil
	}
}

// noteSequence records on a member's claimed invitation that it carries SEQUENCE
// seq, so the update that raised it to seq skips the member. SEQUENCE 0 needs no
// note: an entry without one is 0.
func (r *Runner) noteSequence(ctx context.Context, m group.Meeting, member group.Member, seq int) error {
	if seq == 0 {
		return nil
	}
	return r.Store.NoteSequence(ctx, group.CampaignID(m.ID, string(group.Invitation)), member.ID, seq)
}

// Sequence is the SEQUENCE a meeting's calendar carries now (0 if never announced),
// for calendars made outside a run: a member's .ics download.
func (r *Runner) Sequence(ctx context.Context, meetingID string) (int, error) {
	a, err := r.Store.Announcement(ctx, meetingID)
	if errors.Is(err, group.ErrNotFound) {
		return 0, nil
	}
	return a.Sequence, err
}
