package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/schedulefile"
)

func scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Check, apply and list the meeting schedule"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "validate FILE.yaml",
			Short: "Check a schedule file; list every problem as meeting, field and what is wrong",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg, err := config.Load(nil)
				if err != nil {
					return err
				}
				rows, problems, err := readSchedule(args[0], cfg.TimeZone)
				if err != nil {
					return err
				}
				problems = append(problems, validatePast(cmd, rows, cfg.TimeZone)...)
				problems = append(problems, farProblems(rows, cfg.TimeZone, time.Now())...)
				if len(problems) > 0 {
					return reportProblems(cmd, args[0], problems)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d meetings, no problems\n", args[0], len(rows))
				return nil
			},
		},
		scheduleApplyCmd(),
		scheduleListCmd(),
	)
	return cmd
}

func scheduleApplyCmd() *cobra.Command {
	var keepPast bool
	cmd := &cobra.Command{
		Use:   "apply FILE.yaml",
		Short: "Write a schedule file's meetings to the schedule table (nothing is written if any row has a problem)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			rows, problems, err := readSchedule(args[0], a.Config.TimeZone)
			if err != nil {
				return err
			}
			problems = append(problems, farProblems(rows, a.Config.TimeZone, a.Runner.Clock())...)
			if len(problems) > 0 {
				return reportProblems(cmd, args[0], problems)
			}
			existing, err := a.Store.ScheduleRows(cmd.Context())
			if err != nil {
				return err
			}
			if !keepPast {
				if past := pastProblems(rows, existing, a.Config.TimeZone, a.Runner.Clock()); len(past) > 0 {
					return reportProblems(cmd, args[0], past)
				}
			}
			before := map[string]string{}
			for _, r := range existing {
				before[r[group.FieldMeetingID].Text] = r.Version()
			}
			var created, updated, unchanged int
			inFile := map[string]bool{}
			for _, r := range rows {
				id := r[group.FieldMeetingID].Text
				inFile[id] = true
				// Compare as stored, so typing 90 or "90" is the same row.
				stored := dynamo.RowFromItem(dynamo.ItemFromRow(r))
				v, ok := before[id]
				switch {
				case ok && v == stored.Version():
					unchanged++
					continue
				case ok:
					updated++
				default:
					created++
				}
				if err := a.Store.PutScheduleRow(cmd.Context(), stored); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %s to table %s: %d created, %d updated, %d unchanged\n", args[0], a.Config.ScheduleTable, created, updated, unchanged)
			// The calendar feed reads its own copy of the schedule; the scheduled
			// runs refresh it too, within SendEvery of an edit in the console.
			if _, _, err := a.Runner.Meetings(cmd.Context()); err != nil {
				return fmt.Errorf("refresh the calendar feed: %w", err)
			}
			var others []string
			for id := range before {
				if !inFile[id] {
					others = append(others, id)
				}
			}
			if len(others) > 0 {
				sort.Strings(others)
				fmt.Fprintf(cmd.OutOrStdout(), "left as they are (in the table, not in the file): %v\n", others)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keepPast, "keep-past", false, "also write new or changed meetings that start in the past (history for a new table; nothing is ever sent for them)")
	return cmd
}

func scheduleListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the meetings in the schedule table, with any problems",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			rows, err := a.Store.ScheduleRows(cmd.Context())
			if err != nil {
				return err
			}
			type line struct {
				m        group.Meeting
				problems group.Problems
			}
			var lines []line
			for _, r := range rows {
				m, ps := group.ParseMeeting(r, a.Config.TimeZone)
				lines = append(lines, line{m, ps})
			}
			sort.Slice(lines, func(i, j int) bool {
				if !lines[i].m.Start.Equal(lines[j].m.Start) {
					return lines[i].m.Start.Before(lines[j].m.Start)
				}
				return lines[i].m.ID < lines[j].m.ID
			})
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "MEETING\tSTARTS\tSTATUS\tTITLE\tPUB")
			for _, l := range lines {
				start := "?"
				if !l.m.Start.IsZero() {
					start = l.m.Start.Format("Mon 2006-01-02 15:04 MST")
				}
				status := l.m.Status
				if len(l.problems) > 0 {
					status = fmt.Sprintf("INVALID (%d problems)", len(l.problems))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.m.ID, start, status, l.m.Title, l.m.PubName)
			}
			w.Flush()
			for _, l := range lines {
				for _, p := range l.problems {
					fmt.Fprintln(cmd.OutOrStdout(), "  problem:", p)
				}
			}
			return nil
		},
	}
}

// readSchedule reads and validates a schedule file: every row's problems, plus
// meeting ids given twice.
func readSchedule(path, zone string) ([]group.Row, group.Problems, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rows, err := schedulefile.Read(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems group.Problems
	seen := map[string]bool{}
	for _, r := range rows {
		m, ps := group.ParseMeeting(r, zone)
		problems = append(problems, ps...)
		if m.ID != "" && seen[m.ID] {
			problems = append(problems, group.Problem{MeetingID: m.ID, Field: group.FieldMeetingID, Message: "is used by more than one meeting in the file"})
		}
		seen[m.ID] = true
	}
	return rows, problems, nil
}

func reportProblems(cmd *cobra.Command, path string, problems group.Problems) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s has %d problem(s):\n", path, len(problems))
	for _, p := range problems {
		fmt.Fprintln(cmd.ErrOrStderr(), "  "+p.String())
	}
	return errors.New("the schedule has problems; nothing was written")
}
