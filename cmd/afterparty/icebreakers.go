package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/icebreakers"
)

func icebreakersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "icebreakers", Short: "The organizers' own icebreaker questions (drawn before the shipped bank) and which meeting got which"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add QUESTION...",
			Short: "Add your own question; meetings with no icebreaker of their own get yours first, in the order added, each once",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				q := strings.TrimSpace(strings.Join(args, " "))
				// The same rules as a schedule row's icebreaker field.
				row := group.Row{group.FieldMeetingID: {Type: "S", Text: "question"}, group.FieldTitle: {Type: "S", Text: "t"}, group.FieldStartsAt: {Type: "S", Text: "2030-01-01T10:00"},
					group.FieldVenue: {Type: "S", Text: "v"}, group.FieldIcebreaker: {Type: "S", Text: q}}
				if _, ps := group.ParseMeeting(row, "UTC"); len(ps) > 0 {
					return fmt.Errorf("the question %s", strings.TrimPrefix(ps[0].String(), "question: "))
				}
				if q == "" {
					return errors.New("the question is empty")
				}
				a, err := app(cmd)
				if err != nil {
					return err
				}
				if err := a.Store.AddQuestion(cmd.Context(), q, a.Runner.Clock()); errors.Is(err, dynamo.ErrDuplicate) {
					fmt.Fprintln(cmd.OutOrStdout(), "already in the list:", q)
					return nil
				} else if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "added:", q)
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "Your questions, then how much of the shipped bank is left, and which meeting got which question",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				a, err := app(cmd)
				if err != nil {
					return err
				}
				own, err := a.Store.Questions(cmd.Context())
				if err != nil {
					return err
				}
				used, err := a.Store.UsedIcebreakers(cmd.Context())
				if err != nil {
					return err
				}
				byQuestion := map[string]string{}
				for id, q := range used {
					byQuestion[q] = id
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "YOUR QUESTION\tADDED\tASKED AT")
				for _, q := range own {
					fmt.Fprintf(w, "%s\t%s\t%s\n", q.Text, q.AddedAt.Format("2006-01-02"), orDash(byQuestion[q.Text]))
				}
				w.Flush()
				left := 0
				for _, q := range icebreakers.Bank() {
					if _, ok := byQuestion[q]; !ok {
						left++
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d of your questions; shipped bank: %d of %d not asked yet\n", len(own), left, len(icebreakers.Bank()))
				return nil
			},
		},
	)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
