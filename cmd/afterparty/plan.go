package main

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// PlannedMessage is one message of the plan: when it goes out, to how many, or why not.
type PlannedMessage struct {
	At         time.Time // in the meeting's zone
	MeetingID  string
	Message    string
	Recipients int    // due now by the recipient rules, not yet sent
	Sent       int    // already in the ledger as sent
	Skipped    string // why it will not go out ("" if it will)
}

func planCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "plan [--from T --to T]",
		Short: "Every message that will go out, when (the group's local time), to how many members, and why not where one is skipped",
		Long: "plan lists every message of every meeting due between --from (default now) and --to (default 60 days later),\n" +
			"with the recipients counted as of now by the same rules the functions use (answers given later change them).\n" +
			"Times are RFC 3339 or local YYYY-MM-DD[THH:MM] in the group's zone.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			start := a.Runner.Clock()
			if from != "" {
				if start, err = parseWhen(from, a.Config.TimeZone); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
			}
			end := start.Add(60 * 24 * time.Hour)
			if to != "" {
				if end, err = parseWhen(to, a.Config.TimeZone); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			plan, bad, err := Plan(cmd.Context(), a, start, end)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "plan from %s to %s\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
			fmt.Fprintln(w, "WHEN\tMEETING\tMESSAGE\tTO\tNOTE")
			for _, p := range plan {
				note := ""
				if p.Sent > 0 {
					note = fmt.Sprintf("%d already sent", p.Sent)
				}
				to := fmt.Sprintf("%d", p.Recipients)
				switch {
				case p.Skipped != "":
					to, note = "-", "not sent: "+p.Skipped
				case p.Recipients == 0 && p.Sent > 0:
					to, note = "-", fmt.Sprintf("not due: %d already sent, nobody left to send to", p.Sent)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.At.Format("Mon 2006-01-02 15:04 MST"), p.MeetingID, p.Message, to, note)
			}
			ids := make([]string, 0, len(bad))
			for id := range bad {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				fmt.Fprintf(w, "-\t%s\tall\t-\tnot sent: the schedule row has problems (%s)\n", id, bad[id][0])
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the period (default now)")
	cmd.Flags().StringVar(&to, "to", "", "end of the period (default 60 days after --from)")
	return cmd
}

// Plan works out every message due in [from, to): for each meeting and kind, the
// first moment the function would send it (the opening of its window, or from if
// the window is already open), and how many recipients are due by group.Recipient
// as of now, less those the ledger says are done.
func Plan(ctx context.Context, a *setup.App, from, to time.Time) ([]PlannedMessage, map[string]group.Problems, error) {
	meetings, bad, err := a.Runner.Meetings(ctx)
	if err != nil {
		return nil, nil, err
	}
	var members []group.Member
	for after := ""; ; {
		page, next, err := a.Store.MembersPage(ctx, after, 1000)
		if err != nil {
			return nil, nil, err
		}
		members = append(members, page...)
		if next == "" {
			break
		}
		after = next
	}
	leads := a.Config.Leads
	var plan []PlannedMessage
	for _, m := range meetings {
		answers := map[string]group.RSVP{}
		for after := ""; ; {
			page, next, err := a.Store.RSVPsPage(ctx, m.ID, after, 1000)
			if err != nil {
				return nil, nil, err
			}
			for _, r := range page {
				answers[r.MemberID] = r
			}
			if next == "" {
				break
			}
			after = next
		}
		var invitedAt time.Time
		for _, k := range group.Kinds {
			w := leads.Window(k, m)
			at := w.Opens
			if at.Before(from) {
				at = from
			}
			if !at.Before(w.Closes) || !at.Before(to) {
				if k == group.Invitation {
					invitedAt = w.Opens
				}
				continue
			}
			p := PlannedMessage{At: at.In(m.Location), MeetingID: m.ID, Message: string(k)}
			if k == group.Invitation {
				invitedAt = at
			}
			if k == group.Reminder {
				// The reminder waits a day after the invitation (cycle.ReminderQuietPeriod).
				inv, err := a.Store.Campaign(ctx, m.ID, string(group.Invitation))
				if err != nil {
					return nil, nil, err
				}
				if !inv.StartedAt.IsZero() {
					invitedAt = inv.StartedAt
				}
				if q := invitedAt.Add(cycle.ReminderQuietPeriod); !invitedAt.IsZero() && q.After(at) {
					at = q
					p.At = at.In(m.Location)
					if !at.Before(w.Closes) {
						p.Skipped = "the invitation goes out less than a day before the start"
					}
				}
			}
			if p.Skipped == "" {
				if due, why := leads.Due(k, m, at); !due {
					p.Skipped = why
				}
			}
			if p.Skipped == "" {
				var due []string
				for _, mem := range members {
					var r *group.RSVP
					if got, ok := answers[mem.ID]; ok {
						r = &got
					}
					if group.Recipient(k, mem, r) {
						due = append(due, mem.ID)
					}
				}
				done, err := a.Store.SendRecords(ctx, dynamo.CampaignID(m.ID, string(k)), due)
				if err != nil {
					return nil, nil, err
				}
				for _, rec := range done {
					if rec.State == dynamo.SendSent || rec.State == dynamo.SendFailed {
						p.Sent++
					}
				}
				p.Recipients = len(due) - p.Sent
			}
			plan = append(plan, p)
		}
		for i, d := range group.Digests {
			w := group.DigestWindow(i, m)
			at := w.Opens
			if at.Before(from) {
				at = from
			}
			if !at.Before(w.Closes) || !at.Before(to) {
				continue
			}
			p := PlannedMessage{At: at.In(m.Location), MeetingID: m.ID, Message: "organizer " + d.Name, Recipients: len(a.Runner.Organizers())}
			switch {
			case m.Cancelled():
				p.Skipped = "the meeting is cancelled"
			case p.Recipients == 0:
				p.Skipped = "no organizer addresses (AFTERPARTY_ORGANIZERS)"
			}
			plan = append(plan, p)
		}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		if !plan[i].At.Equal(plan[j].At) {
			return plan[i].At.Before(plan[j].At)
		}
		return plan[i].MeetingID < plan[j].MeetingID
	})
	return plan, bad, nil
}
