package cycle

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// MetLink is a member's signed link to a meeting's /met page; it expires when the
// page closes.
func MetLink(b links.Builder, m group.Meeting, member group.Member) string {
	return b.URL("/met", links.Claims{Member: member.ID, Meeting: m.ID, Action: links.ActionMet, Expires: m.End.Add(group.MetPageLife)}, nil)
}

// attendees pages through who gets the connections email: those who said Yes, and
// those who said they came to the pub (once each: a pub answer of someone who also
// said Yes is left to the RSVP), who still want connections emails.
func (r *Runner) attendees(m group.Meeting) func(context.Context, string) (campaign.Batch, error) {
	return func(ctx context.Context, after string) (campaign.Batch, error) {
		yes, pub, next, err := r.Store.AttendancePage(ctx, m.ID, after, pageSize)
		if err != nil {
			return campaign.Batch{}, err
		}
		ids := yes
		if len(pub) > 0 {
			answers, err := r.Store.RSVPsOf(ctx, m.ID, pub)
			if err != nil {
				return campaign.Batch{}, err
			}
			for _, id := range pub {
				if a, ok := answers[id]; !ok || a.Answer != group.Yes {
					ids = append(ids, id)
				}
			}
		}
		members, err := r.Store.Members(ctx, ids)
		if err != nil {
			return campaign.Batch{}, err
		}
		b := campaign.Batch{Next: next}
		for _, id := range ids {
			if mem, ok := members[id]; ok && mem.Wants(group.Connections) {
				b.Members = append(b.Members, mem)
			}
		}
		return b, nil
	}
}

// IntroductionsOpen says whether introductions of m may still be sent at `at`: from
// the meeting's end until a day after its /met page closed (a tick in its last
// minutes is still introduced).
func IntroductionsOpen(m group.Meeting, at time.Time) bool {
	return !m.Cancelled() && !at.Before(m.End) && at.Before(m.End.Add(group.MetPageLife+24*time.Hour))
}

// introPairsPerPage keeps a page of introductions (two recipients per pair) within
// one BatchGetItem of the ledger.
const introPairsPerPage = pageSize / 2

// recipientSep joins a member id and the other member's id into one ledger entry of
// the introduction campaign: each member gets one email per pair.
const recipientSep = "~"

// Introduce sends every recorded introduction (a pair who ticked each other on
// /met) of every meeting whose introductions are open at `at`, through the ledger:
// each side gets one email per pair, however often this runs. A pair is sent only
// if, now, both are still listed, still tick each other, neither blocked the other,
// and both still want connections emails.
func (r *Runner) Introduce(ctx context.Context, at time.Time) (Report, error) {
	rep := Report{Kind: group.Introduction, At: at}
	meetings, _, err := r.Meetings(ctx)
	if err != nil {
		return rep, err
	}
	engine := &campaign.Engine{Ledger: r.Store, SES: r.SES, Clock: r.Clock, Log: r.Log, Workers: r.Workers,
		MaxRate: r.Config.MaxSendRate, Lease: r.Config.ClaimLease, Margin: r.Margin}
	var errs []error
	for _, m := range meetings {
		if !IntroductionsOpen(m, at) {
			continue
		}
		res, err := r.introduce(ctx, engine, m, at)
		rep.Meetings = append(rep.Meetings, MeetingReport{MeetingID: m.ID, Sent: true, Result: res})
		if err != nil {
			r.Log.Error("campaign stopped", "meeting", m.ID, "kind", group.Introduction, "error", err)
			errs = append(errs, fmt.Errorf("%s %s: %w", group.Introduction, m.ID, err))
			if errors.Is(err, campaign.ErrPaused) {
				break
			}
			continue
		}
		if res.Sent > 0 || res.Pending > 0 || res.Failed > 0 {
			r.Log.Info("campaign run", "meeting", m.ID, "kind", group.Introduction, "sent", res.Sent, "already_done", res.Done,
				"failed", res.Failed, "pending", res.Pending, "finished", res.Finished, "stopped", res.Stopped)
		}
	}
	return rep, errors.Join(errs...)
}

type introduced struct {
	member, other  group.Member
	own, otherLine string
}

func (r *Runner) introduce(ctx context.Context, engine *campaign.Engine, m group.Meeting, at time.Time) (campaign.Result, error) {
	kind := string(group.Introduction)
	c, err := r.Store.StartCampaign(ctx, m.ID, kind, at)
	if err != nil {
		return campaign.Result{}, err
	}
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	var pending sync.Map // recipient id -> introduced, from Page to Render
	job := campaign.Job{
		MeetingID: m.ID,
		Kind:      kind,
		Resume:    c.Cursor,
		From:      r.Config.From,
		Page: func(ctx context.Context, after string) (campaign.Batch, error) {
			pairs, next, err := r.Store.IntroductionsPage(ctx, m.ID, after, introPairsPerPage)
			if err != nil {
				return campaign.Batch{}, err
			}
			intros, err := r.eligiblePairs(ctx, m, pairs)
			if err != nil {
				return campaign.Batch{}, err
			}
			b := campaign.Batch{Next: next}
			for _, in := range intros {
				id := in.member.ID + recipientSep + in.other.ID
				pending.Store(id, in)
				b.Members = append(b.Members, group.Member{ID: id, Email: in.member.Email, Name: in.member.Name, Status: in.member.Status})
			}
			return b, nil
		},
		Render: func(ctx context.Context, rcpt group.Member) ([]byte, error) {
			v, ok := pending.Load(rcpt.ID)
			if !ok {
				return nil, fmt.Errorf("introduction %s was not read in this run", rcpt.ID)
			}
			in := v.(introduced)
			msg := r.Message(group.Introduction, m, in.member, *from, "", at)
			msg.Introduction = &emails.Introduction{OtherName: fullName(in.other), OtherEmail: in.other.Email, OtherLine: in.otherLine, OwnLine: in.own}
			out, err := r.Renderer.Render(msg)
			return out.Raw, err
		},
	}
	return engine.Run(ctx, job)
}

func fullName(m group.Member) string {
	if n := strings.TrimSpace(m.Name); n != "" {
		return n
	}
	return m.ShortName()
}

// eligiblePairs reads what the pairs' members chose now and returns both sides of
// each pair that still stands.
func (r *Runner) eligiblePairs(ctx context.Context, m group.Meeting, pairs []group.Pair) ([]introduced, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	var ids []string
	for _, p := range pairs {
		ids = append(ids, p.Low, p.High)
	}
	ids = unique(ids)
	members, err := r.Store.Members(ctx, ids)
	if err != nil {
		return nil, err
	}
	profiles, err := r.Store.Profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	ticks, err := r.Store.TicksOf(ctx, m.ID, ids)
	if err != nil {
		return nil, err
	}
	var out []introduced
	for _, p := range pairs {
		a, aok := members[p.Low]
		b, bok := members[p.High]
		pa, pb := profiles[p.Low], profiles[p.High]
		if !aok || !bok || !a.Wants(group.Connections) || !b.Wants(group.Connections) ||
			!pa.Listed || !pb.Listed || group.Apart(pa, pb) ||
			!ticks[p.Low][p.High] || !ticks[p.High][p.Low] {
			continue
		}
		out = append(out,
			introduced{member: a, other: b, own: pa.Line, otherLine: pb.Line},
			introduced{member: b, other: a, own: pb.Line, otherLine: pa.Line})
	}
	return out, nil
}

func unique(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// AfterpartyHandler is the pub function's handler: the pub email at the end of a
// meeting, then the connections email the morning after, then the introductions
// /met has recorded since the last run, each as of the event's time. It answers the
// pub run's report with the other two in Also.
func (r *Runner) AfterpartyHandler() func(context.Context, events.EventBridgeEvent) (Report, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (Report, error) {
		at := ev.Time
		if at.IsZero() {
			at = r.Clock()
		}
		rep, err := r.Run(ctx, group.Pub, at)
		errs := []error{err}
		conn, err := r.Run(ctx, group.Connections, at)
		errs = append(errs, err)
		intro, err := r.Introduce(ctx, at)
		errs = append(errs, err)
		rep.Also = []Report{conn, intro}
		return rep, errors.Join(errs...)
	}
}

// stayedInTouch is the /met figures of the meeting before m (the latest that ended
// before m starts and was held), for the last digest; nil if there is none.
func (r *Runner) stayedInTouch(ctx context.Context, m group.Meeting, all []group.Meeting) (*emails.StayedInTouch, error) {
	var prev *group.Meeting
	for i := range all {
		p := all[i]
		if p.ID != m.ID && !p.Cancelled() && !p.End.After(m.Start) && (prev == nil || p.End.After(prev.End)) {
			prev = &p
		}
	}
	if prev == nil {
		return nil, nil
	}
	c, err := r.Store.ConnectionCounts(ctx, prev.ID)
	if err != nil {
		return nil, err
	}
	return &emails.StayedInTouch{Title: prev.Title, ConnectionCounts: c}, nil
}
