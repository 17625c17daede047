package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/schedulefile"
)

// Change is what apply would do to one meeting.
type Change struct {
	MeetingID string
	Action    string   // "create", "update", "unchanged"
	Fields    []string // for an update: "field: old -> new"
}

// Diff compares a file's rows with the table's, as apply stores them (so 90 and
// "90" are the same), and lists the meetings only in the table.
func Diff(file, table []group.Row) (changes []Change, onlyInTable []string) {
	before := map[string]group.Row{}
	for _, r := range table {
		before[r[group.FieldMeetingID].Text] = r
	}
	inFile := map[string]bool{}
	for _, r := range file {
		id := r[group.FieldMeetingID].Text
		inFile[id] = true
		stored := dynamo.RowFromItem(dynamo.ItemFromRow(r))
		old, ok := before[id]
		switch {
		case !ok:
			changes = append(changes, Change{MeetingID: id, Action: "create"})
		case old.Version() == stored.Version():
			changes = append(changes, Change{MeetingID: id, Action: "unchanged"})
		default:
			c := Change{MeetingID: id, Action: "update"}
			names := map[string]bool{}
			for k := range old {
				names[k] = true
			}
			for k := range stored {
				names[k] = true
			}
			var sorted []string
			for k := range names {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				o, had := old[k]
				n, has := stored[k]
				switch {
				case had && !has:
					c.Fields = append(c.Fields, fmt.Sprintf("%s: %q -> (removed)", k, o.Text))
				case !had && has:
					c.Fields = append(c.Fields, fmt.Sprintf("%s: (none) -> %q", k, n.Text))
				case o != n:
					c.Fields = append(c.Fields, fmt.Sprintf("%s: %q -> %q", k, o.Text, n.Text))
				}
			}
			changes = append(changes, c)
		}
	}
	for id := range before {
		if !inFile[id] {
			onlyInTable = append(onlyInTable, id)
		}
	}
	sort.Strings(onlyInTable)
	return changes, onlyInTable
}

// pastProblems names the new or changed meetings that start before now. A past
// meeting the table already holds unchanged is history kept in git, and fine.
func pastProblems(file, table []group.Row, zone string, now time.Time) group.Problems {
	changes, _ := Diff(file, table)
	action := map[string]string{}
	for _, c := range changes {
		action[c.MeetingID] = c.Action
	}
	var ps group.Problems
	for _, r := range file {
		m, problems := group.ParseMeeting(r, zone)
		if len(problems) > 0 || action[m.ID] == "unchanged" {
			continue
		}
		if p, past := group.PastStart(m, now); past {
			ps = append(ps, p)
		}
	}
	return ps
}

// farProblems names every meeting in the file that starts more than
// group.MaxYearsAhead years after now, changed or not: the functions skip it.
func farProblems(file []group.Row, zone string, now time.Time) group.Problems {
	var ps group.Problems
	for _, r := range file {
		m, problems := group.ParseMeeting(r, zone)
		if len(problems) > 0 {
			continue
		}
		if p, far := group.FarStart(m, now); far {
			ps = append(ps, p)
		}
	}
	return ps
}

func scheduleDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff FILE.yaml",
		Short: "What `schedule apply` would change in the table, field by field; exit 1 if apply would refuse the file",
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
			table, err := a.Store.ScheduleRows(cmd.Context())
			if err != nil {
				return err
			}
			problems = append(problems, pastProblems(rows, table, a.Config.TimeZone, a.Runner.Clock())...)
			problems = append(problems, farProblems(rows, a.Config.TimeZone, a.Runner.Clock())...)
			changes, others := Diff(rows, table)
			out := cmd.OutOrStdout()
			counts := map[string]int{}
			for _, c := range changes {
				counts[c.Action]++
				switch c.Action {
				case "create":
					fmt.Fprintf(out, "+ %s (new)\n", c.MeetingID)
				case "update":
					fmt.Fprintf(out, "~ %s\n", c.MeetingID)
					for _, f := range c.Fields {
						fmt.Fprintf(out, "    %s\n", f)
					}
				}
			}
			for _, id := range others {
				fmt.Fprintf(out, "  %s (in the table, not in the file: apply leaves it alone)\n", id)
			}
			fmt.Fprintf(out, "%s against table %s: %d to create, %d to update, %d unchanged, %d only in the table\n",
				args[0], a.Config.ScheduleTable, counts["create"], counts["update"], counts["unchanged"], len(others))
			if len(problems) > 0 {
				return reportProblems(cmd, args[0], problems)
			}
			return nil
		},
	}
}

func scheduleExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export [--out FILE.yaml]",
		Short: "Write the schedule table as a schedule file that `schedule apply` reads back unchanged",
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
			sort.Slice(rows, func(i, j int) bool { return rows[i][group.FieldMeetingID].Text < rows[j][group.FieldMeetingID].Text })
			return writeOutput(cmd, out, func(w io.Writer) error { return schedulefile.Write(w, rows) })
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// validatePast checks start dates for `schedule validate`: against the table when
// it can be read (a past meeting the table holds unchanged is fine), else every
// past meeting is a warning, not a problem: apply checks it against the table.
func validatePast(cmd *cobra.Command, rows []group.Row, zone string) group.Problems {
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	a, err := app(cmd)
	var table []group.Row
	if err == nil {
		table, err = a.Store.ScheduleRows(ctx)
	}
	now := time.Now()
	if err == nil {
		return pastProblems(rows, table, zone, now)
	}
	for _, p := range pastProblems(rows, nil, zone, now) {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s (the schedule table could not be read to tell history from a new meeting: %v)\n", p, err)
	}
	return nil
}
