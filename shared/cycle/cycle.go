// Package cycle runs the meeting cycle: for a message kind and a moment, it reads the
// schedule, decides which meetings are due, and runs one campaign per due meeting.
// Every scheduled function, `afterparty run` and the demo clock call Run.
package cycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// Store is what the meeting cycle reads and writes, in the domain's own types;
// shared/dynamo's Store implements it.
type Store interface {
	campaign.Ledger
	campaign.RateStore

	ScheduleRows(ctx context.Context) ([]group.Row, error)
	PublishFeed(ctx context.Context, rows []group.Row, now time.Time) error
	Members(ctx context.Context, ids []string) (map[string]group.Member, error)
	MembersPage(ctx context.Context, after string, limit int) ([]group.Member, string, error)
	Profiles(ctx context.Context, ids []string) (map[string]group.Profile, error)

	Campaign(ctx context.Context, meetingID, kind string) (group.Campaign, error)
	StartCampaign(ctx context.Context, meetingID, kind string, now time.Time) (group.Campaign, error)
	LedgerPage(ctx context.Context, campaign, after string, limit int) ([]group.SendRecord, string, error)

	Announcement(ctx context.Context, meetingID string) (group.Announcement, error)
	Announce(ctx context.Context, meetingID string, a group.Announcement) (group.Announcement, error)
	Reannounce(ctx context.Context, meetingID string, from int, next group.Announcement) (group.Announcement, error)
	NoteSequence(ctx context.Context, campaign, memberID string, sequence int) error
	Sequences(ctx context.Context, meetingIDs []string) (map[string]int, error)
	SentCalendarsPage(ctx context.Context, campaign, after string, limit int) ([]group.SentCalendar, string, error)

	RSVPsOf(ctx context.Context, meetingID string, memberIDs []string) (map[string]group.RSVP, error)
	RSVPsPage(ctx context.Context, meetingID, after string, limit int) ([]group.RSVP, string, error)
	PubAnswers(ctx context.Context, meetingID string) (map[string]bool, error)
	AttendancePage(ctx context.Context, meetingID, after string, limit int) (yes []string, pub []string, next string, err error)

	Questions(ctx context.Context) ([]group.Question, error)
	UsedIcebreakers(ctx context.Context) (map[string]string, error)
	AssignIcebreaker(ctx context.Context, meetingID, question string) (string, error)

	ConnectionCounts(ctx context.Context, meetingID string) (group.ConnectionCounts, error)
	IntroductionsPage(ctx context.Context, meetingID, after string, limit int) ([]group.Pair, string, error)
	TicksOf(ctx context.Context, meetingID string, ids []string) (map[string]map[string]bool, error)

	// The outbox (notices.go): emails members' actions made due.
	IntentsPage(ctx context.Context, after string, limit int) ([]group.Intent, string, error)
	DropIntent(ctx context.Context, key string) error
	Member(ctx context.Context, id string) (group.Member, error)
	PendingJoin(ctx context.Context, id, requestedAt string, now time.Time) (email, name string, ok bool, err error)
	ScheduleRow(ctx context.Context, meetingID string) (group.Row, error)
	RSVP(ctx context.Context, meetingID, memberID string) (group.RSVP, error)
	PlaceOf(ctx context.Context, meetingID, memberID string) (seated bool, queuedSince string, err error)
	WaitlistPosition(ctx context.Context, meetingID, memberID string) (int, error)
}

// Runner holds what a run needs; build it once per process.
type Runner struct {
	Store    Store
	SES      campaign.SES
	Renderer *emails.Renderer
	// Notices renders the outbox's emails (SendNotices): promotion, waitlisted,
	// join confirmation, welcome.
	Notices *emails.NoticeRenderer
	Links   links.Builder
	Config  config.Config
	Clock   func() time.Time // wall clock (claims, deadlines); planning uses the run's time
	Log     *slog.Logger
	Workers int
	// Margin is how long before a run's deadline sending stops (default 10s).
	Margin time.Duration
	// Repair, if set, puts right the places of a meeting with a capacity after an
	// interrupted answer (shared/web's Site.Repair); whoever it promotes gets the
	// promotion email from the outbox (SendNotices).
	// The invitations run calls it for every upcoming meeting with a capacity.
	Repair func(context.Context, group.Meeting) error
	// ReloadKeys, if set, reads the link-signing keys again (at most once a minute)
	// into the signer Links holds. Every run calls it first: a warm function must
	// not go on signing with a key a rotation has retired.
	ReloadKeys func(context.Context) error
	// Only, if set, limits every run to one meeting and its member emails to some
	// members: the smoke test's (`afterparty smoke`). Without it, runs leave the
	// smoke test's meetings alone (IsSmokeMeeting), so a deployed function that
	// wakes during a smoke test never emails the group about it.
	Only *Scope
}

// reloadKeys runs ReloadKeys; a failure is logged and the run signs with the keys
// it has (still accepted unless the secret was rotated twice since they were read).
func (r *Runner) reloadKeys(ctx context.Context) {
	if r.ReloadKeys == nil {
		return
	}
	if err := r.ReloadKeys(ctx); err != nil {
		r.Log.Error("reload link-signing keys; signing with the keys read before", "error", err)
	}
}

// Scope is the part of the schedule and the members a run is limited to.
type Scope struct {
	MeetingID string
	MemberIDs []string // the only members a member email of the meeting may go to
}

// SmokePrefix begins the meeting id of every meeting `afterparty smoke` writes.
const SmokePrefix = "afterparty-smoke-"

// IsSmokeMeeting reports whether a meeting id is a smoke test's.
func IsSmokeMeeting(id string) bool { return strings.HasPrefix(id, SmokePrefix) }

// inScope reports whether this run looks at the meeting.
func (r *Runner) inScope(id string) bool {
	if r.Only != nil {
		return id == r.Only.MeetingID
	}
	return !IsSmokeMeeting(id)
}

// scoped limits a recipient pager to the scope's members.
func (r *Runner) scoped(page func(context.Context, string) (campaign.Batch, error)) func(context.Context, string) (campaign.Batch, error) {
	if r.Only == nil {
		return page
	}
	allowed := map[string]bool{}
	for _, id := range r.Only.MemberIDs {
		allowed[id] = true
	}
	return func(ctx context.Context, after string) (campaign.Batch, error) {
		b, err := page(ctx, after)
		kept := b.Members[:0]
		for _, m := range b.Members {
			if allowed[m.ID] {
				kept = append(kept, m)
			}
		}
		b.Members = kept
		return b, err
	}
}

// MeetingReport says what a run did for one meeting.
type MeetingReport struct {
	MeetingID string          `json:"meeting_id"`
	Campaign  string          `json:"campaign,omitempty"` // another kind than the run's: an update (UpdateKind)
	Sent      bool            `json:"due"`
	Reason    string          `json:"skipped_because,omitempty"`
	Result    campaign.Result `json:"result"`
}

// Report says what a run did.
type Report struct {
	Kind     group.Kind      `json:"kind"`
	At       time.Time       `json:"at"`
	Meetings []MeetingReport `json:"meetings"`
	Invalid  []string        `json:"invalid_rows,omitempty"`
	// Also are the runs of other kinds the same invocation made (the pub function
	// also sends connections emails and introductions: AfterpartyHandler).
	Also []Report `json:"also,omitempty"`
}

// ReminderQuietPeriod keeps a reminder from following an invitation too closely
// (a meeting added late): the reminder waits until the invitation is this old.
const ReminderQuietPeriod = 24 * time.Hour

// Handler is the Lambda handler for one kind: the EventBridge event's time is the
// run's time, so a delayed or retried delivery plans as of when it was scheduled.
func (r *Runner) Handler(kind group.Kind) func(context.Context, events.EventBridgeEvent) (Report, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (Report, error) {
		at := ev.Time
		if at.IsZero() {
			at = r.Clock()
		}
		return r.Run(ctx, kind, at)
	}
}

// Meetings reads and validates the schedule (the rows in the run's scope, see
// Only); rows with problems are returned separately so the caller can skip them
// and say why. A start more than
// group.MaxYearsAhead years after the wall clock is one of them.
func (r *Runner) Meetings(ctx context.Context) ([]group.Meeting, map[string]group.Problems, error) {
	rows, err := r.Store.ScheduleRows(ctx)
	if err != nil {
		return nil, nil, err
	}
	var ms []group.Meeting
	var feed []group.Row
	bad := map[string]group.Problems{}
	for _, row := range rows {
		if !r.inScope(strings.TrimSpace(row[group.FieldMeetingID].Text)) {
			continue
		}
		m, problems := group.ParseMeeting(row, r.Config.TimeZone)
		if r.Clock != nil {
			if p, far := group.FarStart(m, r.Clock()); far {
				problems = append(problems, p)
			}
		}
		if len(problems) > 0 {
			bad[m.ID] = problems
			continue
		}
		ms = append(ms, m)
		if r.Clock != nil && m.End.After(r.Clock().Add(-group.FeedWindow)) {
			feed = append(feed, row)
		}
	}
	r.publishFeed(ctx, feed)
	return ms, bad, nil
}

// publishFeed keeps the calendar feed's copy of the schedule up to date: the valid
// rows the feed can show (the web function reads them with one GetItem and never
// Scans the schedule). A run limited to the smoke test's meeting publishes nothing,
// and a failure is logged: the feed then shows the schedule as it was.
func (r *Runner) publishFeed(ctx context.Context, rows []group.Row) {
	if r.Only != nil || r.Clock == nil {
		return
	}
	if err := r.Store.PublishFeed(ctx, rows, r.Clock()); err != nil && r.Log != nil {
		r.Log.Warn("the calendar feed keeps its earlier copy of the schedule", "error", err)
	}
}

// Run sends kind for every meeting due at `at`.
func (r *Runner) Run(ctx context.Context, kind group.Kind, at time.Time) (Report, error) {
	rep := Report{Kind: kind, At: at}
	r.reloadKeys(ctx)
	meetings, bad, err := r.Meetings(ctx)
	if err != nil {
		return rep, err
	}
	for id, problems := range bad {
		rep.Invalid = append(rep.Invalid, id)
		for _, p := range problems {
			r.Log.Warn("schedule row skipped: fix it and the next run picks it up", "meeting", id, "field", p.Field, "problem", p.Message)
		}
	}
	r.TellOrganizers(ctx, bad, at) // once per bad version of a row (organizers.go)
	engine := &campaign.Engine{Ledger: r.Store, SES: r.SES, Clock: r.Clock, Log: r.Log, Workers: r.Workers,
		MaxRate: r.Config.MaxSendRate, Lease: r.Config.ClaimLease, Margin: r.Margin, Rate: r.Store}
	var errs []error
	for _, m := range meetings {
		mr := MeetingReport{MeetingID: m.ID}
		var ann announced
		if kind == group.Invitation {
			r.repairPlaces(ctx, m, at)
			ann, err = r.announce(ctx, engine, m, at)
			if ann.update != nil {
				rep.Meetings = append(rep.Meetings, *ann.update)
			}
			if err != nil {
				r.Log.Error("update stopped", "meeting", m.ID, "kind", kind, "error", err)
				errs = append(errs, fmt.Errorf("update %s: %w", m.ID, err))
				if errors.Is(err, campaign.ErrPaused) {
					break
				}
				continue
			}
			if ann.update != nil {
				res := ann.update.Result
				r.Log.Info("campaign run", "meeting", m.ID, "kind", ann.update.Campaign, "sent", res.Sent, "already_done", res.Done,
					"failed", res.Failed, "pending", res.Pending, "finished", res.Finished, "stopped", res.Stopped)
			}
		}
		due, why := r.Config.Leads.Due(kind, m, at)
		if due && ann.wait != "" {
			due, why = false, ann.wait
		}
		if due && kind == group.Reminder {
			due, why = r.reminderQuiet(ctx, m, at)
		}
		if !due {
			mr.Reason = why
			rep.Meetings = append(rep.Meetings, mr)
			continue
		}
		mr.Sent = true
		res, err := r.runMeeting(ctx, engine, kind, m, at, ann.current)
		mr.Result = res
		rep.Meetings = append(rep.Meetings, mr)
		if err != nil {
			r.Log.Error("campaign stopped", "meeting", m.ID, "kind", kind, "error", err)
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, m.ID, err))
			if errors.Is(err, campaign.ErrPaused) {
				break
			}
			continue
		}
		r.Log.Info("campaign run", "meeting", m.ID, "kind", kind, "sent", res.Sent, "already_done", res.Done,
			"failed", res.Failed, "pending", res.Pending, "finished", res.Finished, "stopped", res.Stopped)
	}
	return rep, errors.Join(errs...)
}

// repairPlaces runs the capacity repair for an upcoming meeting with a capacity
// whose invitations are out. A failure is logged: answers keep working, and the
// next run tries again.
func (r *Runner) repairPlaces(ctx context.Context, m group.Meeting, at time.Time) {
	if r.Repair == nil || m.Capacity <= 0 || m.Cancelled() || !at.Before(m.Start) {
		return
	}
	if due, _ := r.Config.Leads.Due(group.Invitation, m, at); !due {
		return
	}
	if err := r.Repair(ctx, m); err != nil {
		r.Log.Error("capacity repair failed; the next run tries again", "meeting", m.ID, "error", err)
	}
}

func (r *Runner) reminderQuiet(ctx context.Context, m group.Meeting, at time.Time) (bool, string) {
	inv, err := r.Store.Campaign(ctx, m.ID, string(group.Invitation))
	if err != nil || inv.StartedAt.IsZero() {
		return true, ""
	}
	if age := at.Sub(inv.StartedAt); age >= 0 && age < ReminderQuietPeriod {
		return false, "the invitation went out less than a day ago"
	}
	return true, ""
}

func (r *Runner) runMeeting(ctx context.Context, engine *campaign.Engine, kind group.Kind, m group.Meeting, at time.Time, ann group.Announcement) (campaign.Result, error) {
	sequence := ann.Sequence
	c, err := r.Store.StartCampaign(ctx, m.ID, string(kind), at)
	if err != nil {
		return campaign.Result{}, err
	}
	icebreaker := m.Icebreaker
	if icebreaker == "" && (kind == group.Teaser || kind == group.Reminder) {
		if icebreaker, err = r.Icebreaker(ctx, m); err != nil {
			return campaign.Result{}, err
		}
	}
	from, err := mail.ParseAddress(r.Config.From)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	job := campaign.Job{
		MeetingID: m.ID,
		Kind:      string(kind),
		Resume:    c.Cursor,
		From:      r.Config.From,
		Page:      r.scoped(r.recipients(kind, m)),
		Render: func(ctx context.Context, member group.Member) ([]byte, error) {
			msg := r.Message(kind, m, member, *from, icebreaker, at)
			msg.Now = r.Clock() // the engine renders right before the send: Date is when it goes out
			if kind == group.Invitation {
				if err := r.noteSequence(ctx, m, member, sequence); err != nil {
					return nil, err
				}
				msg.Sequence = sequence
				org, err := r.Organizer(ann, m, member, at)
				if err != nil {
					return nil, err
				}
				msg.Organizer = org
			}
			out, err := r.Renderer.Render(msg)
			return out.Raw, err
		},
	}
	return engine.Run(ctx, job)
}

// Icebreaker returns the meeting's question: the row's own, or one drawn from the
// bank without repeats across meetings until the bank is used up, fixed once drawn.
func (r *Runner) Icebreaker(ctx context.Context, m group.Meeting) (string, error) {
	q, fresh, err := r.icebreaker(ctx, m)
	if err != nil || !fresh {
		return q, err
	}
	return r.Store.AssignIcebreaker(ctx, m.ID, q)
}

// icebreaker finds the meeting's question without recording it: the row's own, the
// one already drawn for it, or (fresh) the next draw (organizers' questions first,
// preview.go).
func (r *Runner) icebreaker(ctx context.Context, m group.Meeting) (q string, fresh bool, err error) {
	if m.Icebreaker != "" {
		return m.Icebreaker, false, nil
	}
	used, err := r.Store.UsedIcebreakers(ctx)
	if err != nil {
		return "", false, err
	}
	if q, ok := used[m.ID]; ok {
		return q, false, nil
	}
	q, err = r.draw(ctx, used, m.ID)
	return q, err == nil, err
}

// Message is everything a member's email of this kind says, as of at (its Date and
// DTSTAMP; a campaign sets them to the moment it sends).
func (r *Runner) Message(kind group.Kind, m group.Meeting, member group.Member, from mail.Address, icebreaker string, at time.Time) emails.Message {
	return emails.Message{
		Kind:       kind,
		Group:      emails.Group{Name: r.Config.GroupName, From: from, Organizers: r.Config.Organizers},
		Meeting:    m,
		Member:     member,
		Links:      MemberLinks(r.Links, m, member, at),
		Icebreaker: icebreaker,
		Now:        at,
	}
}

// Link lifetimes.
const (
	AnswerLinkLife      = 30 * 24 * time.Hour      // after the meeting's end: the page can still say what was recorded
	UnsubscribeLinkLife = 2 * 365 * 24 * time.Hour // from sending: unsubscribe must keep working for years
)

// MemberLinks builds the signed links of one member's email.
func MemberLinks(b links.Builder, m group.Meeting, member group.Member, at time.Time) emails.Links {
	answer := func(action string, extra url.Values) string {
		path := "/" + action
		if action == links.ActionCalendar {
			path = "/invite.ics"
		}
		return b.URL(path, links.Claims{Member: member.ID, Meeting: m.ID, Action: action, Expires: m.End.Add(AnswerLinkLife)}, extra)
	}
	rsvp := func(a group.Answer) string { return answer(links.ActionRSVP, url.Values{"answer": {string(a)}}) }
	unsub := b.URL("/unsubscribe", links.Claims{Member: member.ID, Action: links.ActionUnsubscribe, Expires: at.Add(UnsubscribeLinkLife)}, nil)
	return emails.Links{
		Yes:                 rsvp(group.Yes),
		Maybe:               rsvp(group.Maybe),
		No:                  rsvp(group.No),
		Pub:                 answer(links.ActionPub, nil),
		Unsubscribe:         unsub,
		UnsubscribeOneClick: unsub,
		Calendar:            answer(links.ActionCalendar, nil),
		MeetingPage:         b.BaseURL + "/m/" + url.PathEscape(m.ID),
		Met:                 MetLink(b, m, member),
	}
}

const pageSize = campaign.BatchSize

// recipients pages through who is due for kind: every member for invitations and
// reminders (with their RSVPs read in one batch for reminders), the Yes and Maybe
// answers for teasers and pub emails.
func (r *Runner) recipients(kind group.Kind, m group.Meeting) func(context.Context, string) (campaign.Batch, error) {
	switch kind {
	case group.Connections:
		return r.attendees(m)
	case group.Teaser, group.Pub:
		return func(ctx context.Context, after string) (campaign.Batch, error) {
			rsvps, next, err := r.Store.RSVPsPage(ctx, m.ID, after, pageSize)
			if err != nil {
				return campaign.Batch{}, err
			}
			var ids []string
			byMember := map[string]group.RSVP{}
			for _, a := range rsvps {
				if a.Answer == group.Yes || a.Answer == group.Maybe {
					ids = append(ids, a.MemberID)
					byMember[a.MemberID] = a
				}
			}
			members, err := r.Store.Members(ctx, ids)
			if err != nil {
				return campaign.Batch{}, err
			}
			b := campaign.Batch{Next: next}
			for _, id := range ids {
				a := byMember[id]
				if mem, ok := members[id]; ok && group.Recipient(kind, mem, &a) {
					b.Members = append(b.Members, mem)
				}
			}
			return b, nil
		}
	default:
		return func(ctx context.Context, after string) (campaign.Batch, error) {
			members, next, err := r.Store.MembersPage(ctx, after, pageSize)
			if err != nil {
				return campaign.Batch{}, err
			}
			var answers map[string]group.RSVP
			if kind == group.Reminder {
				ids := make([]string, len(members))
				for i, mem := range members {
					ids[i] = mem.ID
				}
				if answers, err = r.Store.RSVPsOf(ctx, m.ID, ids); err != nil {
					return campaign.Batch{}, err
				}
			}
			b := campaign.Batch{Next: next}
			for _, mem := range members {
				var a *group.RSVP
				if got, ok := answers[mem.ID]; ok {
					a = &got
				}
				if group.Recipient(kind, mem, a) {
					b.Members = append(b.Members, mem)
				}
			}
			return b, nil
		}
	}
}

// FromDomain is the domain part of the From address, used for calendar UIDs.
func FromDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "afterparty.local"
}
