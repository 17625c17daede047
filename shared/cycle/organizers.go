package cycle

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// The organizers' emails go through the same campaign engine and ledger as member
// email, with the organizer addresses (AFTERPARTY_ORGANIZERS) as the recipients:
// a rerun, a retry or every other scheduled function seeing the same bad row sends
// nothing twice.

var organizerRenderer = sync.OnceValues(emails.NewOrganizerRenderer)

// ProblemsKind names the ledger of the organizers' email about one bad version of a
// schedule row: a new version of the row (another mistake) is reported again.
func ProblemsKind(rowVersion string) string { return "problems-" + rowVersion }

// DigestKind is the message kind the digest function reports under.
const DigestKind group.Kind = "digest"

// noMeetingID stands in for the meeting id of a row that has none.
const noMeetingID = "(no meeting_id)"

// Organizers are the organizer addresses as campaign recipients.
func (r *Runner) Organizers() []group.Member {
	var out []group.Member
	seen := map[string]bool{}
	for _, o := range r.Config.Organizers {
		a, err := mail.ParseAddress(o)
		if err != nil {
			continue // config.Load already refused it
		}
		id := group.MemberID(a.Address)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, group.Member{ID: id, Email: group.NormalizeEmail(a.Address), Name: a.Name, Status: group.MemberActive})
	}
	return out
}

func (r *Runner) organizerJob(meetingID, kind string, render func(group.Member) emails.OrganizerMessage) (campaign.Job, error) {
	rend, err := organizerRenderer()
	if err != nil {
		return campaign.Job{}, err
	}
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return campaign.Job{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	orgs := r.Organizers()
	return campaign.Job{
		MeetingID: meetingID,
		Kind:      kind,
		From:      r.Config.From,
		Page: func(context.Context, string) (campaign.Batch, error) {
			return campaign.Batch{Members: orgs}, nil
		},
		Render: func(_ context.Context, to group.Member) ([]byte, error) {
			msg := render(to)
			msg.Now = r.Clock() // Date: when it goes out, not when the run started
			msg.Group = emails.Group{Name: r.Config.GroupName, From: *from, Organizers: r.Config.Organizers}
			msg.To = mail.Address{Name: to.Name, Address: to.Email}
			out, err := rend.Render(msg)
			return out.Raw, err
		},
	}, nil
}

func (r *Runner) engine() *campaign.Engine {
	return &campaign.Engine{Ledger: r.Store, SES: r.SES, Clock: r.Clock, Log: r.Log, Workers: r.Workers,
		MaxRate: r.Config.MaxSendRate, Lease: r.Config.ClaimLease, Margin: r.Margin, Rate: r.Store}
}

// TellOrganizers emails the organizers about every bad schedule row, once per bad
// version of the row, naming the meeting, each field and its problem. It never
// stops a run: what it cannot send now is logged and retried by the next run.
func (r *Runner) TellOrganizers(ctx context.Context, bad map[string]group.Problems, at time.Time) {
	if len(bad) == 0 || len(r.Config.Organizers) == 0 {
		return
	}
	ids := make([]string, 0, len(bad))
	for id := range bad {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	engine := r.engine()
	for _, id := range ids {
		problems := bad[id]
		if len(problems) == 0 {
			continue
		}
		meetingID := id
		if strings.TrimSpace(meetingID) == "" {
			meetingID = noMeetingID
		}
		kind := ProblemsKind(problems[0].RowVersion)
		// Every run of every function sees the bad row until it is fixed: one
		// ledger read says it was told, without touching SES or the campaign item.
		if done, err := r.organizersDone(ctx, meetingID, kind); err != nil || done {
			if err != nil {
				r.Log.Error("could not read the organizers' ledger; the next run tries again", "meeting", meetingID, "kind", kind, "error", err)
			}
			continue
		}
		if _, err := r.Store.StartCampaign(ctx, meetingID, kind, at); err != nil {
			r.Log.Error("could not tell the organizers about a bad schedule row; the next run tries again", "meeting", meetingID, "kind", kind, "error", err)
			continue
		}
		job, err := r.organizerJob(meetingID, kind, func(group.Member) emails.OrganizerMessage {
			return emails.OrganizerMessage{Kind: emails.OrganizerProblems, Bad: &emails.BadRow{MeetingID: meetingID, Problems: problems}}
		})
		if err == nil {
			var res campaign.Result
			res, err = engine.Run(ctx, job)
			if err == nil && res.Sent > 0 {
				r.Log.Info("organizers told about a bad schedule row", "meeting", meetingID, "kind", kind, "sent", res.Sent)
			}
		}
		if err != nil {
			r.Log.Error("could not tell the organizers about a bad schedule row; the next run tries again", "meeting", meetingID, "kind", kind, "error", err)
			if errors.Is(err, campaign.ErrPaused) {
				return
			}
		}
	}
}

// DigestHandler is the digest function's Lambda handler: the event's time is the
// run's time, as for the member kinds.
func (r *Runner) DigestHandler() func(context.Context, events.EventBridgeEvent) (Report, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (Report, error) {
		at := ev.Time
		if at.IsZero() {
			at = r.Clock()
		}
		return r.RunDigest(ctx, at)
	}
}

// RunDigest sends the organizers' headcount digest of every meeting due at `at`
// (group.Digests: 1 day and 3 hours before the start).
func (r *Runner) RunDigest(ctx context.Context, at time.Time) (Report, error) {
	rep := Report{Kind: DigestKind, At: at}
	r.reloadKeys(ctx)
	meetings, bad, err := r.Meetings(ctx)
	if err != nil {
		return rep, err
	}
	for id := range bad {
		rep.Invalid = append(rep.Invalid, id)
	}
	sort.Strings(rep.Invalid)
	r.TellOrganizers(ctx, bad, at)
	engine := r.engine()
	var errs []error
	for _, m := range meetings {
		mr := MeetingReport{MeetingID: m.ID}
		i, due, why := group.DigestDue(m, at)
		if due && len(r.Config.Organizers) == 0 {
			due, why = false, "no organizer addresses (AFTERPARTY_ORGANIZERS)"
		}
		if !due {
			mr.Reason = why
			rep.Meetings = append(rep.Meetings, mr)
			continue
		}
		mr.Sent = true
		res, err := r.sendDigest(ctx, engine, i, m, meetings, at)
		mr.Result = res
		rep.Meetings = append(rep.Meetings, mr)
		if err != nil {
			r.Log.Error("digest stopped", "meeting", m.ID, "kind", group.Digests[i].Name, "error", err)
			errs = append(errs, fmt.Errorf("%s %s: %w", group.Digests[i].Name, m.ID, err))
			if errors.Is(err, campaign.ErrPaused) {
				break
			}
			continue
		}
		r.Log.Info("digest run", "meeting", m.ID, "kind", group.Digests[i].Name, "sent", res.Sent, "already_done", res.Done)
	}
	return rep, errors.Join(errs...)
}

func (r *Runner) sendDigest(ctx context.Context, engine *campaign.Engine, i int, m group.Meeting, all []group.Meeting, at time.Time) (campaign.Result, error) {
	kind := group.Digests[i].Name
	// Counted once per run, before the first send: a run that finds every
	// organizer done does not count at all.
	if done, err := r.organizersDone(ctx, m.ID, kind); err != nil || done {
		return campaign.Result{Done: len(r.Organizers()), Finished: done}, err
	}
	if _, err := r.Store.StartCampaign(ctx, m.ID, kind, at); err != nil {
		return campaign.Result{}, err
	}
	hc, err := r.Headcount(ctx, m, all)
	if err != nil {
		return campaign.Result{}, err
	}
	hc.Before = group.Digests[i].Label
	if i == len(group.Digests)-1 {
		if hc.StayedInTouch, err = r.stayedInTouch(ctx, m, all); err != nil {
			return campaign.Result{}, err
		}
	}
	job, err := r.organizerJob(m.ID, kind, func(group.Member) emails.OrganizerMessage {
		return emails.OrganizerMessage{Kind: emails.OrganizerDigest, Count: &hc}
	})
	if err != nil {
		return campaign.Result{}, err
	}
	return engine.Run(ctx, job)
}

func ids(ms []group.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// organizersDone reports whether every organizer's email of this kind is sent (or
// failed for good).
func (r *Runner) organizersDone(ctx context.Context, meetingID, kind string) (bool, error) {
	orgs := r.Organizers()
	recs, err := r.Store.SendRecords(ctx, group.CampaignID(meetingID, kind), ids(orgs))
	if err != nil {
		return false, err
	}
	for _, o := range orgs {
		if rec, ok := recs[o.ID]; !ok || (rec.State != group.SendSent && rec.State != group.SendFailed) {
			return false, nil
		}
	}
	return true, nil
}

// Headcount counts a meeting's answers for the organizers: Yes, Maybe, No, invited
// without an answer, the pub, and the first-timers (members whose first Yes of any
// meeting in the schedule this is). all is the schedule's valid meetings.
func (r *Runner) Headcount(ctx context.Context, m group.Meeting, all []group.Meeting) (emails.Headcount, error) {
	hc := emails.Headcount{Meeting: m}
	answered := map[string]bool{}
	var yes []string
	for after := ""; ; {
		page, next, err := r.Store.RSVPsPage(ctx, m.ID, after, 500)
		if err != nil {
			return hc, err
		}
		for _, a := range page {
			answered[a.MemberID] = true
			switch a.Answer {
			case group.Yes:
				if a.Place == group.PlaceWaitlisted {
					hc.Waitlist++
					break
				}
				hc.Yes++
				yes = append(yes, a.MemberID)
				if a.Seats > 0 {
					hc.Guests += a.Seats - 1 // the guests that fitted
				} else {
					hc.Guests += a.Guests
				}
			case group.Maybe:
				hc.Maybe++
			case group.No:
				hc.No++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	for after := ""; ; {
		page, next, err := r.Store.LedgerPage(ctx, group.CampaignID(m.ID, string(group.Invitation)), after, 500)
		if err != nil {
			return hc, err
		}
		for _, rec := range page {
			if rec.State == group.SendSent && !answered[rec.Member()] {
				hc.NoAnswer++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	pub, err := r.Store.PubAnswers(ctx, m.ID)
	if err != nil {
		return hc, err
	}
	for _, coming := range pub {
		if coming {
			hc.Pub++
		}
	}
	first := map[string]bool{}
	for _, id := range yes {
		first[id] = true
	}
	for _, earlier := range all {
		if len(first) == 0 {
			break
		}
		if earlier.ID == m.ID || !earlier.Start.Before(m.Start) {
			continue
		}
		still := make([]string, 0, len(first))
		for id := range first {
			still = append(still, id)
		}
		before, err := r.Store.RSVPsOf(ctx, earlier.ID, still)
		if err != nil {
			return hc, err
		}
		for id, a := range before {
			if a.Answer == group.Yes {
				delete(first, id)
			}
		}
	}
	if len(first) > 0 {
		newcomers := make([]string, 0, len(first))
		for id := range first {
			newcomers = append(newcomers, id)
		}
		members, err := r.Store.Members(ctx, newcomers)
		if err != nil {
			return hc, err
		}
		for _, id := range newcomers {
			if mem, ok := members[id]; ok {
				name := strings.TrimSpace(mem.Name)
				if name == "" {
					name = mem.Email
				}
				hc.FirstTimer = append(hc.FirstTimer, name)
			}
		}
		sort.Strings(hc.FirstTimer)
	}
	if hc.Icebreaker, err = r.Icebreaker(ctx, m); err != nil {
		return hc, err
	}
	return hc, nil
}
