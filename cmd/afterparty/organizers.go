package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// addOrganizerCommands adds the organizers' planning and reporting commands: plan,
// preview, status, icebreakers, schedule diff/export and members export, and the
// --stack/--region/--profile flags every command understands.
func addOrganizerCommands(root *cobra.Command) {
	addTargetFlags(root)
	root.AddCommand(planCmd(), previewCmd(), statusCmd(), icebreakersCmd(), inboundCmd())
	for _, c := range root.Commands() {
		switch c.Name() {
		case "schedule":
			c.AddCommand(scheduleDiffCmd(), scheduleExportCmd())
		case "members":
			c.AddCommand(membersExportCmd())
		}
	}
}

// parseWhen reads a command-line time: RFC 3339, or a local YYYY-MM-DD[THH:MM] in
// the group's zone.
func parseWhen(s string, zone string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 or local YYYY-MM-DD[THH:MM]", s)
}

// schedule is the table's rows parsed: the valid meetings by start, and the
// problems of the rest by meeting id.
type schedule struct {
	meetings []group.Meeting
	bad      map[string]group.Problems
	rows     map[string]group.Row
}

func readTable(cmd *cobra.Command, a *setup.App) (schedule, error) {
	rows, err := a.Store.ScheduleRows(cmd.Context())
	if err != nil {
		return schedule{}, err
	}
	s := schedule{bad: map[string]group.Problems{}, rows: map[string]group.Row{}}
	for _, r := range rows {
		m, ps := group.ParseMeeting(r, a.Config.TimeZone)
		s.rows[m.ID] = r
		if len(ps) > 0 {
			s.bad[m.ID] = ps
			continue
		}
		s.meetings = append(s.meetings, m)
	}
	sort.Slice(s.meetings, func(i, j int) bool {
		if !s.meetings[i].Start.Equal(s.meetings[j].Start) {
			return s.meetings[i].Start.Before(s.meetings[j].Start)
		}
		return s.meetings[i].ID < s.meetings[j].ID
	})
	return s, nil
}

func (s schedule) meeting(id string) (group.Meeting, error) {
	for _, m := range s.meetings {
		if m.ID == id {
			return m, nil
		}
	}
	if ps, ok := s.bad[id]; ok {
		return group.Meeting{}, fmt.Errorf("meeting %s is skipped until its row is fixed:\n%s", id, ps.Error())
	}
	return group.Meeting{}, fmt.Errorf("no meeting %q in the schedule table (afterparty schedule list shows them)", id)
}

func statusCmd() *cobra.Command {
	var errorsShown int
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Each campaign's progress (sent, pending, failed) and its latest errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rows, err := a.Store.ScheduleRows(ctx)
			if err != nil {
				return err
			}
			ids := make([]string, 0, len(rows))
			zones := map[string]*time.Location{} // each meeting's times in its own zone, as plan shows them
			for _, r := range rows {
				m, _ := group.ParseMeeting(r, a.Config.TimeZone)
				ids = append(ids, r[group.FieldMeetingID].Text)
				zones[r[group.FieldMeetingID].Text] = m.Location
			}
			when := func(id string, t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				loc := zones[id]
				if loc == nil {
					loc = time.UTC
				}
				return t.In(loc).Format("2006-01-02 15:04 MST")
			}
			sort.Strings(ids)
			out := cmd.OutOrStdout()
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "MEETING\tMESSAGE\tSENT\tPENDING\tFAILED\tSTARTED\tLAST RUN\tSTATE")
			var latest []string
			n := 0
			// Emails members' actions made due (the outbox) each have a one-email
			// campaign: they are summed into one row per kind and meeting.
			ids = append(ids, cycle.NoMeeting)
			for _, id := range ids {
				cs, err := a.Store.Campaigns(ctx, id)
				if err != nil {
					return err
				}
				notices := map[string]*noticeRow{}
				var order []string
				for _, c := range cs {
					n++
					counts, failed, err := a.Store.LedgerCounts(ctx, dynamo.CampaignID(id, c.Kind), errorsShown)
					if err != nil {
						return err
					}
					for _, f := range failed {
						latest = append(latest, fmt.Sprintf("  %s %s member %s at %s: %s", id, c.Kind, f.Member(), when(id, f.SentAt), oneLine(f.Error)))
					}
					if kind, ok := noticeKindOf(c.Kind); ok {
						row := notices[kind]
						if row == nil {
							row = &noticeRow{started: c.StartedAt}
							notices[kind] = row
							order = append(order, kind)
						}
						row.add(c, counts)
						continue
					}
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", id, c.Kind, counts[dynamo.SendSent], counts[dynamo.SendClaimed], counts[dynamo.SendFailed],
						when(id, c.StartedAt), when(id, c.LastRunAt), campaignState(c))
				}
				for _, kind := range order {
					r := notices[kind]
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", id, "notices: "+kind, r.counts[dynamo.SendSent], r.counts[dynamo.SendClaimed], r.counts[dynamo.SendFailed],
						when(id, r.started), when(id, r.last), fmt.Sprintf("%d emails", r.emails))
				}
			}
			waiting, err := outboxWaiting(ctx, a.Store)
			if err != nil {
				return err
			}
			w.Flush()
			if waiting > 0 {
				fmt.Fprintf(out, "outbox: %d emails recorded and not sent yet (sent within a minute; `afterparty run outbox` sends them now)\n", waiting)
			}
			if n == 0 {
				fmt.Fprintln(out, "no campaign has run yet")
			}
			if len(latest) > 0 {
				fmt.Fprintln(out, "latest errors (addresses SES rejected; never retried automatically):")
				for _, l := range latest {
					fmt.Fprintln(out, l)
				}
			}
			fmt.Fprintln(out, "PENDING: claimed and not yet confirmed (sending now, or a crashed send retried after its claim expires).")
			return nil
		},
	}
	cmd.Flags().IntVar(&errorsShown, "errors", 5, "how many of each campaign's latest failed sends to show")
	return cmd
}

// noticeRow sums the one-email campaigns of one notice kind (promoted, welcome...).
type noticeRow struct {
	counts        map[string]int
	started, last time.Time
	emails        int
}

func (r *noticeRow) add(c group.Campaign, counts map[string]int) {
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	for k, v := range counts {
		r.counts[k] += v
	}
	if c.StartedAt.Before(r.started) {
		r.started = c.StartedAt
	}
	if c.LastRunAt.After(r.last) {
		r.last = c.LastRunAt
	}
	r.emails++
}

// noticeKindOf reads an outbox email's kind from its campaign's kind
// (cycle.NoticeKind: notice-<kind>/...).
func noticeKindOf(campaignKind string) (string, bool) {
	rest, ok := strings.CutPrefix(campaignKind, "notice-")
	if !ok {
		return "", false
	}
	kind, _, _ := strings.Cut(rest, "/")
	return kind, true
}

// outboxWaiting counts the outbox's emails not sent yet.
func outboxWaiting(ctx context.Context, s *dynamo.Store) (int, error) {
	n := 0
	for after := ""; ; {
		page, next, err := s.IntentsPage(ctx, after, 500)
		if err != nil {
			return 0, fmt.Errorf("read the outbox: %w", err)
		}
		n += len(page)
		if next == "" {
			return n, nil
		}
		after = next
	}
}

// campaignState says how a campaign's latest run stands, on one line.
func campaignState(c dynamo.Campaign) string {
	resume := "the next run resumes it from the start"
	if c.Cursor != "" {
		resume = "the next run resumes it from its checkpoint"
	}
	switch c.RunState {
	case dynamo.RunRunning:
		return "not finished: running now, or stopped before saving a checkpoint (killed?); " + resume
	case dynamo.RunStopped:
		return "stopped: " + oneLine(c.LastError) + "; " + resume
	case dynamo.RunSwept:
		return "swept to the end; a later due run adds newcomers"
	}
	// Written before run states were recorded.
	state := "swept to the end; a later due run adds newcomers"
	if c.Cursor != "" {
		state = "mid-sweep: the next run resumes it"
	}
	if c.LastError != "" {
		state += "; last error: " + oneLine(c.LastError)
	}
	return state
}

// oneLine puts an error message on one line of a table: line breaks, tabs and
// other control characters become single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(c rune) rune {
		if group.Unprintable(c) {
			return ' '
		}
		return c
	}, s)), " ")
}

var errProblems = errors.New("the schedule has problems")

func joinLines(ss []string) string { return strings.Join(ss, "\n") }
