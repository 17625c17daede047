package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func runCmd() *cobra.Command {
	var at string
	var verbose, retryFailed, dryRun bool
	cmd := &cobra.Command{
		Use:       "run invitations|reminders|teasers|pub|digest|outbox",
		Short:     "Run one scheduled function once, as if at --at, through the same code the Lambda runs",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"invitations", "reminders", "teasers", "pub", "digest", "outbox"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "outbox" {
				return runOutbox(cmd, verbose)
			}
			kind, ok := group.ParseKind(args[0])
			if !ok && args[0] != "digest" {
				return fmt.Errorf("unknown function %q: use invitations, reminders, teasers, pub, digest or outbox", args[0])
			}
			if dryRun && !retryFailed {
				return errors.New("--dry-run only goes with --retry-failed: it shows who would be retried")
			}
			when := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--at %q: use RFC 3339, e.g. 2026-12-08T09:00:00-08:00", at)
				}
				when = t
			}
			a, err := quietApp(cmd)
			if verbose {
				a, err = app(cmd)
			}
			if err != nil {
				return err
			}
			if retryFailed {
				if !ok {
					return errors.New("--retry-failed is for members' emails: invitations, reminders, teasers or pub")
				}
				n, err := retryFailedSends(cmd, a, kind, dryRun)
				if err != nil || dryRun || n == 0 {
					return err
				}
			}
			var rep cycle.Report
			var runErr error
			if args[0] == "digest" {
				rep, runErr = a.Runner.RunDigest(cmd.Context(), when)
			} else {
				rep, runErr = a.Runner.Run(cmd.Context(), kind, when)
			}
			printReport(cmd, rep)
			return runErr
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the moment to run as (RFC 3339); default now")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "log every email sent (JSON, member ids only) to stderr")
	cmd.Flags().BoolVar(&retryFailed, "retry-failed", false, "first list the members whose email of this kind SES rejected (and why), make them due again, then run")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --retry-failed: only list who would be retried; change and send nothing")
	return cmd
}

// retryFailedSends lists, for every meeting in the schedule, the members whose
// email of kind SES rejected, with the recorded reason, and (unless dryRun) makes
// their ledger entries claimable again so the run that follows sends to them. It
// returns how many would be (or were) retried.
func retryFailedSends(cmd *cobra.Command, a *setup.App, kind group.Kind, dryRun bool) (int, error) {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	meetings, _, err := a.Runner.Meetings(ctx)
	if err != nil {
		return 0, err
	}
	type failedSend struct {
		meeting string
		rec     dynamo.SendRecord
	}
	var failed []failedSend
	for _, m := range meetings {
		recs, err := a.Store.FailedSends(ctx, dynamo.CampaignID(m.ID, string(kind)))
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			failed = append(failed, failedSend{m.ID, r})
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(out, "no failed %s to retry\n", kind)
		return 0, nil
	}
	ids := make([]string, len(failed))
	for i, f := range failed {
		ids[i] = f.rec.Member()
	}
	members, err := a.Store.Members(ctx, ids)
	if err != nil {
		return 0, err
	}
	loc, err := time.LoadLocation(a.Config.TimeZone)
	if err != nil {
		return 0, fmt.Errorf("AFTERPARTY_TIME_ZONE: %w", err)
	}
	verb := "retrying"
	if dryRun {
		verb = "would retry (dry run: nothing changed)"
	}
	fmt.Fprintf(out, "%s %d failed %s:\n", verb, len(failed), kind)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MEETING\tMEMBER\tNAME\tEMAIL\tFAILED AT\tWHY")
	for _, f := range failed {
		m := members[f.rec.Member()]
		failedAt := ""
		if !f.rec.SentAt.IsZero() {
			failedAt = f.rec.SentAt.In(loc).Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.meeting, f.rec.Member(), oneLine(m.Name), m.Email, failedAt, oneLine(f.rec.Error))
	}
	w.Flush()
	if dryRun {
		return len(failed), nil
	}
	for _, f := range failed {
		if _, err := a.Store.RetryFailed(ctx, dynamo.CampaignID(f.meeting, string(kind)), f.rec.Member()); err != nil {
			return 0, err
		}
	}
	return len(failed), nil
}

func printReport(cmd *cobra.Command, rep cycle.Report) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "%s at %s\n", rep.Kind, rep.At.Format(time.RFC3339))
	fmt.Fprintln(w, "MEETING\tSENT\tALREADY DONE\tFAILED\tPENDING\tNOTE")
	for _, m := range rep.Meetings {
		if !m.Sent {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\tskipped: %s\n", m.MeetingID, m.Reason)
			continue
		}
		note := "finished"
		if !m.Result.Finished {
			note = "not finished: " + m.Result.Stopped
			if m.Result.Stopped == "" {
				note = fmt.Sprintf("not finished: %d being sent by another run or left for the next run", m.Result.Pending)
			}
		}
		if m.Campaign != "" {
			note = m.Campaign + ": " + note // an update or cancellation of an invited meeting
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\n", m.MeetingID, m.Result.Sent, m.Result.Done, m.Result.Failed, m.Result.Pending, note)
	}
	for _, id := range rep.Invalid {
		fmt.Fprintf(w, "%s\t-\t-\t-\t-\tskipped: the schedule row has problems (afterparty schedule list)\n", id)
	}
	w.Flush()
}

func serveCmd() *cobra.Command {
	var addr string
	var sendNotices bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the member pages (the web function) locally",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			if sendNotices {
				sweepNotices(cmd.Context(), a)
			}
			srv := &http.Server{Addr: addr, Handler: a.Site.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving member pages on http://%s (Ctrl-C stops)\n", ln.Addr())
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&sendNotices, "send-notices", true, "send the emails the pages record (promotion, join confirmation, welcome) from the outbox in-process, "+
		"right after a page records one and every 20 s, as the outbox function does on AWS; false leaves them in the outbox (`afterparty run outbox` sends them)")
	return cmd
}

func rsvpsCmd() *cobra.Command {
	var asCSV bool
	cmd := &cobra.Command{
		Use:   "rsvps MEETING_ID",
		Short: "Every member's answer for a meeting, when it was given and where (link or calendar)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			ctx, id := cmd.Context(), args[0]
			if _, err := a.Store.ScheduleRow(ctx, id); errors.Is(err, dynamo.ErrNotFound) {
				return fmt.Errorf("no meeting %q in table %s (afterparty schedule list shows them)", id, a.Config.ScheduleTable)
			}
			pubAnswers, err := a.Store.PubAnswers(ctx, id)
			if err != nil {
				return err
			}
			counts := map[string]int{}
			out := cmd.OutOrStdout()
			var cw *csv.Writer
			var tw *tabwriter.Writer
			header := []string{"email", "name", "answer", "place", "guests", "answered_at", "changes", "pub", "source"}
			if asCSV {
				cw = csv.NewWriter(out)
				cw.Write(header)
			} else {
				tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "EMAIL\tNAME\tANSWER\tPLACE\tGUESTS\tANSWERED AT\tCHANGES\tPUB\tSOURCE")
			}
			after := ""
			for {
				members, next, err := a.Store.MembersPage(ctx, after, 100)
				if err != nil {
					return err
				}
				ids := make([]string, len(members))
				for i, m := range members {
					ids[i] = m.ID
				}
				answers, err := a.Store.RSVPsOf(ctx, id, ids)
				if err != nil {
					return err
				}
				for _, m := range members {
					answer, place, guests, at, changes, source := "no answer", "", "", "", "", ""
					if r, ok := answers[m.ID]; ok {
						answer, place, at, changes, source = string(r.Answer), r.Place, r.AnsweredAt.Format(time.RFC3339), strconv.Itoa(r.Changes), r.Source
						if source == "" {
							source = "unknown" // recorded before sources were kept
						}
						// Guests are the places held beyond the member's own, not
						// the ones asked for that did not fit; a waitlisted member
						// waits with the whole party asked for.
						n := 0
						switch r.Place {
						case group.PlaceGoing:
							n = max(r.Seats-1, 0)
							counts["going"] += max(r.Seats, 1)
							counts["guests"] += n
						case group.PlaceWaitlisted:
							n = r.Guests
							counts["waitlisted"]++
						}
						if n > 0 {
							guests = strconv.Itoa(n)
						}
					}
					pub := ""
					if pubAnswers[m.ID] {
						pub = "coming"
					}
					counts[answer]++
					if pub != "" {
						counts["pub"]++
					}
					rec := []string{m.Email, m.Name, answer, place, guests, at, changes, pub, source}
					if asCSV {
						cw.Write(rec)
					} else {
						fmt.Fprintln(tw, strings.Join(rec, "\t"))
					}
				}
				if next == "" {
					break
				}
				after = next
			}
			if asCSV {
				cw.Flush()
				return cw.Error()
			}
			tw.Flush()
			fmt.Fprintf(out, "yes %d, maybe %d, no %d, no answer %d; places taken %d (incl. %d guests), waitlisted %d; coming to the pub %d\n",
				counts["yes"], counts["maybe"], counts["no"], counts["no answer"], counts["going"], counts["guests"], counts["waitlisted"], counts["pub"])
			return printConnections(ctx, out, a.Store, id)
		},
	}
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print CSV (email,name,answer,place,guests,answered_at,changes,pub,source; source: where the latest answer came from, link or calendar)")
	return cmd
}
