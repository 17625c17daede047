package cycle

// The outbox sweep: every email a member's action made due (a place opened up, a
// calendar Yes on the waitlist, the join confirmation, the welcome) is recorded by
// the page as an intent (group.Intent) and sent from here, through the send
// ledger like every other email: claimed, paced on the account's shared rate,
// retried, stopped by an account-level pause. The outbox function runs it on a
// stream of the state table and every minute; `afterparty serve` in-process.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
	"github.com/afterparty/afterparty/shared/links"
)

// NoMeeting is the meeting part of the ledger of a notice about no meeting (join
// confirmation, welcome): SEND#notice#notice-<key>.
const NoMeeting = "notice"

// NoticeKind names the ledger of one outbox intent: unique per intent, and free
// of '#' (which ends a campaign id's meeting part).
func NoticeKind(key string) string { return "notice-" + strings.ReplaceAll(key, "#", "/") }

// NoticeCampaign is the ledger campaign id of an intent.
func NoticeCampaign(in group.Intent) string {
	return group.CampaignID(noticeMeeting(in), NoticeKind(in.Key))
}

func noticeMeeting(in group.Intent) string {
	if in.MeetingID != "" {
		return in.MeetingID
	}
	return NoMeeting
}

// NoticeReport says what one sweep of the outbox did.
type NoticeReport struct {
	Seen    int    `json:"seen"`
	Sent    int    `json:"sent"`    // accepted by SES in this sweep
	Done    int    `json:"done"`    // sent or failed before (a crash before the delete): removed now
	Failed  int    `json:"failed"`  // SES rejected the address (recorded in the ledger)
	Dropped int    `json:"dropped"` // no longer true (answer changed, meeting started, unsubscribed)
	Waiting int    `json:"waiting"` // not due yet (a promotion not written yet), or not confirmed by SES yet
	Stopped string `json:"stopped,omitempty"`
	// Repaired counts meetings whose places this sweep repaired, because a
	// promotion's email was recorded and its promotion not written (a web server
	// killed in between).
	Repaired int `json:"repaired,omitempty"`

	repaired map[string]bool // meeting ids repaired in this sweep (once each)
}

// SendNotices sweeps the outbox once: each intent still true is sent as a
// one-recipient job through the campaign engine and deleted once the ledger
// shows it sent or failed; one no longer true is deleted with a log line; one not
// due yet (a promotion whose COUNT write has not happened) stays for a later
// sweep. An account-level pause stops the sweep and leaves every intent.
func (r *Runner) SendNotices(ctx context.Context) (NoticeReport, error) {
	var rep NoticeReport
	if r.Notices == nil {
		return rep, errors.New("send notices: the runner has no notice templates")
	}
	r.reloadKeys(ctx)
	engine := r.engine()
	var errs []error
	after := ""
	for {
		page, next, err := r.Store.IntentsPage(ctx, after, pageSize)
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		for _, in := range page {
			rep.Seen++
			if err := r.sendIntent(ctx, engine, in, &rep); err != nil {
				if errors.Is(err, campaign.ErrPaused) {
					rep.Stopped = campaign.ErrPaused.Error() + "; the next sweep sends"
					r.Log.Warn("outbox sweep stopped: SES sending is paused; every email stays in the outbox", "kind", in.Kind, "member", in.MemberID)
					return rep, errors.Join(errs...)
				}
				r.Log.Error("outbox email not sent; the next sweep tries again", "kind", in.Kind, "meeting", in.MeetingID, "member", in.MemberID, "error", err)
				errs = append(errs, fmt.Errorf("%s for %s: %w", in.Kind, in.MemberID, err))
			}
		}
		if next == "" {
			return rep, errors.Join(errs...)
		}
		after = next
	}
}

// NoticesHandler is the outbox function's handler: a batch of the state table's
// stream (filtered to new outbox intents) and the one-minute schedule both sweep
// the whole outbox, so what the event says does not matter.
func (r *Runner) NoticesHandler() func(context.Context, json.RawMessage) (NoticeReport, error) {
	return func(ctx context.Context, _ json.RawMessage) (NoticeReport, error) {
		rep, err := r.SendNotices(ctx)
		r.Log.Info("outbox swept", "seen", rep.Seen, "sent", rep.Sent, "done", rep.Done, "failed", rep.Failed,
			"dropped", rep.Dropped, "waiting", rep.Waiting, "stopped", rep.Stopped)
		return rep, err
	}
}

// verdict is what the sweep does with an intent now.
type verdict int

const (
	sendIt verdict = iota
	waitFor
	dropIt
)

// prepared is an intent checked against the state now: what to do, why, and (to
// send) the recipient and the notice without its time and links.
type prepared struct {
	verdict verdict
	why     string
	member  group.Member
	meeting *group.Meeting
	notice  emails.Notice
}

func (r *Runner) sendIntent(ctx context.Context, engine *campaign.Engine, in group.Intent, rep *NoticeReport) error {
	log := r.Log.With("kind", in.Kind, "meeting", in.MeetingID, "member", in.MemberID, "intent", in.Key)
	id := NoticeCampaign(in)
	if done, err := r.ledgerDone(ctx, id, in.MemberID); err != nil {
		return err
	} else if done {
		rep.Done++
		return r.Store.DropIntent(ctx, in.Key)
	}
	p, err := r.prepare(ctx, in, r.Clock(), rep)
	if err != nil {
		return err
	}
	switch p.verdict {
	case waitFor:
		rep.Waiting++
		log.Info("outbox email waits", "reason", p.why)
		return nil
	case dropIt:
		rep.Dropped++
		log.Info("outbox email dropped: no longer true", "reason", p.why)
		return r.Store.DropIntent(ctx, in.Key)
	}
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	res, err := engine.Run(ctx, campaign.Job{
		MeetingID: noticeMeeting(in),
		Kind:      NoticeKind(in.Key),
		From:      r.Config.From,
		Page: func(context.Context, string) (campaign.Batch, error) {
			return campaign.Batch{Members: []group.Member{p.member}}, nil
		},
		Render: func(_ context.Context, to group.Member) ([]byte, error) {
			n := p.notice
			n.Now = r.Clock() // Date: when it goes out
			n.Group = emails.Group{Name: r.Config.GroupName, From: *from, Organizers: r.Config.Organizers}
			n.Links = r.noticeLinks(in, to, p.meeting, n.Now)
			out, err := r.Notices.Render(n)
			return out.Raw, err
		},
	})
	rep.Sent += res.Sent
	rep.Failed += res.Failed
	if err != nil {
		return err
	}
	done, err := r.ledgerDone(ctx, id, in.MemberID)
	if err != nil {
		return err
	}
	if !done {
		rep.Waiting++
		log.Warn("outbox email not confirmed sent; the next sweep tries again", "stopped", res.Stopped, "pending", res.Pending)
		return nil
	}
	log.Info("outbox email sent", "sent", res.Sent, "failed", res.Failed)
	return r.Store.DropIntent(ctx, in.Key)
}

// ledgerDone reports whether the ledger shows the email sent or failed for good.
func (r *Runner) ledgerDone(ctx context.Context, campaignID, memberID string) (bool, error) {
	recs, err := r.Store.SendRecords(ctx, campaignID, []string{memberID})
	if err != nil {
		return false, err
	}
	rec, ok := recs[memberID]
	return ok && (rec.State == group.SendSent || rec.State == group.SendFailed), nil
}

// prepare checks an intent against what is recorded now.
func (r *Runner) prepare(ctx context.Context, in group.Intent, now time.Time, rep *NoticeReport) (prepared, error) {
	p := prepared{notice: emails.Notice{Kind: in.Kind, Position: in.Position}}
	switch in.Kind {
	case group.IntentJoinConfirm:
		if m, err := r.Store.Member(ctx, in.MemberID); err == nil && m.Status == group.MemberSuppressed {
			return prepared{verdict: dropIt, why: "the address is suppressed"}, nil
		} else if err != nil && !errors.Is(err, group.ErrNotFound) {
			return p, err
		}
		email, name, ok, err := r.Store.PendingJoin(ctx, in.MemberID, in.Since, now)
		if err != nil {
			return p, err
		}
		if !ok {
			return prepared{verdict: dropIt, why: "the join request was confirmed, expired or asked again since"}, nil
		}
		p.member = group.Member{ID: in.MemberID, Email: email, Name: name, Status: group.MemberPending}
		p.notice.Member = p.member
		return p, nil
	case group.IntentWelcome, group.IntentPromoted, group.IntentWaitlisted:
	default:
		return prepared{verdict: dropIt, why: fmt.Sprintf("unknown kind %q", in.Kind)}, nil
	}
	m, err := r.Store.Member(ctx, in.MemberID)
	if errors.Is(err, group.ErrNotFound) {
		return prepared{verdict: dropIt, why: "no such member"}, nil
	}
	if err != nil {
		return p, err
	}
	if m.Status != group.MemberActive {
		return prepared{verdict: dropIt, why: "the member is " + m.Status}, nil
	}
	p.member, p.notice.Member = m, m
	if in.Kind == group.IntentWelcome {
		return p, nil
	}
	return r.preparePlace(ctx, in, p, now, rep)
}

// preparePlace checks a waitlist email against the meeting, the member's answer
// and the COUNT item (the authority on places).
func (r *Runner) preparePlace(ctx context.Context, in group.Intent, p prepared, now time.Time, rep *NoticeReport) (prepared, error) {
	row, err := r.Store.ScheduleRow(ctx, in.MeetingID)
	if errors.Is(err, group.ErrNotFound) {
		return prepared{verdict: dropIt, why: "the meeting is no longer in the schedule"}, nil
	}
	if err != nil {
		return p, err
	}
	m, problems := group.ParseMeeting(row, r.Config.TimeZone)
	if len(problems) > 0 {
		return prepared{verdict: waitFor, why: "the meeting's schedule row has problems: " + problems[0].Message}, nil
	}
	if m.Cancelled() || !now.Before(m.Start) {
		return prepared{verdict: dropIt, why: "the meeting was cancelled or has started"}, nil
	}
	rsvp, err := r.Store.RSVP(ctx, m.ID, in.MemberID)
	if err != nil && !errors.Is(err, group.ErrNotFound) {
		return p, err
	}
	if rsvp.Answer != group.Yes {
		return prepared{verdict: dropIt, why: "the answer is no longer Yes"}, nil
	}
	seated, since, err := r.Store.PlaceOf(ctx, m.ID, in.MemberID)
	if err != nil {
		return p, err
	}
	if in.Kind == group.IntentPromoted && !seated && (since == in.Since || since == "") && r.Repair != nil && m.Capacity > 0 && !rep.repaired[m.ID] {
		// The promotion's email was recorded and the promotion itself not written
		// (the web server died in between, or its write is still in flight): repair
		// the meeting's places now rather than at the next invitations run. The
		// repair is safe beside a request in flight; whoever it promotes gets their
		// own recorded email (this one, for the same waitlist stint).
		if rep.repaired == nil {
			rep.repaired = map[string]bool{}
		}
		rep.repaired[m.ID] = true
		if err := r.Repair(ctx, m); err != nil {
			return p, fmt.Errorf("repair the places of %s for a recorded promotion: %w", m.ID, err)
		}
		rep.Repaired++
		if seated, since, err = r.Store.PlaceOf(ctx, m.ID, in.MemberID); err != nil {
			return p, err
		}
		if !seated && since == in.Since {
			// Still waiting after the repair: there is no place for them (the
			// promotion lost its condition to another answer). A later promotion of
			// this stint records this email again.
			return prepared{verdict: dropIt, why: "not promoted after all: no place for them after the capacity repair (a later promotion records the email again)"}, nil
		}
	}
	p.meeting = &m
	p.notice.Meeting = &m
	switch in.Kind {
	case group.IntentPromoted:
		switch {
		case seated:
			p.notice.Guests = max(rsvp.Seats-1, 0)
			return p, nil
		case since == in.Since:
			return prepared{verdict: waitFor, why: "still on the waitlist: the promotion is not written yet (the capacity repair finishes it)"}, nil
		case since != "":
			return prepared{verdict: dropIt, why: "on the waitlist again since, a later stint"}, nil
		}
		return prepared{verdict: waitFor, why: "neither seated nor queued: the answer is not synced yet (the capacity repair syncs it)"}, nil
	default: // waitlisted
		switch {
		case seated:
			return prepared{verdict: dropIt, why: "promoted since: the promotion email says so"}, nil
		case since == in.Since:
			pos, err := r.Store.WaitlistPosition(ctx, m.ID, in.MemberID)
			if err != nil {
				return p, err
			}
			p.notice.Position = pos
			return p, nil
		case since != "":
			return prepared{verdict: dropIt, why: "on the waitlist again since, a later stint"}, nil
		}
		return prepared{verdict: dropIt, why: "no longer on the waitlist"}, nil
	}
}

// noticeLinks builds a notice's links at send time from the configured base URL.
func (r *Runner) noticeLinks(in group.Intent, to group.Member, m *group.Meeting, now time.Time) emails.NoticeLinks {
	b := r.Links
	unsub := b.URL("/unsubscribe", links.Claims{Member: to.ID, Action: links.ActionUnsubscribe, Expires: now.Add(UnsubscribeLinkLife)}, nil)
	l := emails.NoticeLinks{Unsubscribe: unsub, UnsubscribeOneClick: unsub, MeetingPage: b.BaseURL + "/calendar.ics"}
	if in.Kind == group.IntentJoinConfirm {
		// The link lives as long as the request it confirms, from when it was made.
		requested, err := time.Parse(time.RFC3339Nano, in.Since)
		if err != nil {
			requested = now
		}
		l.Confirm = b.URL("/join/confirm", links.Claims{Member: to.ID, Action: links.ActionJoin, Expires: requested.Add(group.JoinLinkLife)}, nil)
	}
	if m != nil {
		ml := MemberLinks(b, *m, to, now)
		details := "Details: " + ml.MeetingPage
		l.RSVP = b.URL("/rsvp", links.Claims{Member: to.ID, Meeting: m.ID, Action: links.ActionRSVP, Expires: m.End.Add(AnswerLinkLife)}, url.Values{"answer": {"no"}})
		l.Calendar, l.MeetingPage = ml.Calendar, ml.MeetingPage
		l.Google, l.Outlook = ical.GoogleCalendarURL(*m, details), ical.OutlookURL(*m, details)
	}
	return l
}
