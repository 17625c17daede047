package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// SmokeTitle is the title of the smoke test's meeting.
const SmokeTitle = "afterparty smoke test"

// smokeLead is how far ahead of now the smoke test's meeting starts.
const smokeLead = 20 * time.Minute

func smokeCmd() *cobra.Command {
	var to, webURL string
	cmd := &cobra.Command{
		Use:   "smoke",
		Short: "Test a deployment end to end with one test meeting emailed to one organizer, then remove it",
		Long: `smoke writes a test meeting (id ` + cycle.SmokePrefix + `<time>, title "` + SmokeTitle + `") starting in 20
minutes, with one organizer address as its only recipient (the first of AFTERPARTY_ORGANIZERS,
or --to), and runs each scheduled function once through the code the Lambdas run, each as
if at its time in the meeting's cycle: the invitation, the test member's Yes, the reminder,
the teaser, the organizers' digest and the pub email. That address gets five emails. It
checks that SES accepted every send (the ledger holds SES's message id), that the meeting
page (the web URL + /m/<id>) answers 200, then removes the meeting, its answers, its
ledger and the test member (unless the address was a member already), also when a step
failed. It prints PASS or FAIL per step and exits 1 if any failed.
The scheduled functions leave meetings whose id begins with ` + cycle.SmokePrefix + ` alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			s, err := newSmokeTest(a, to, webURL, cmd.OutOrStdout(), time.Now())
			if err != nil {
				return err
			}
			return s.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the organizer address that gets the test emails (default: the first organizer address)")
	cmd.Flags().StringVar(&webURL, "web-url", "", "the member pages' base URL to check (default: AFTERPARTY_BASE_URL, or the stack's WebUrl)")
	return cmd
}

// smokeTest is one run of `afterparty smoke`.
type smokeTest struct {
	app       *setup.App
	runner    cycle.Runner // the app's, limited to the test meeting and member
	out       io.Writer
	to        string // the organizer entry as configured, e.g. "Ada <ada@example.org>"
	member    group.Member
	created   bool // the test member did not exist before
	meetingID string
	start     time.Time
	meeting   group.Meeting
	webURL    string
	steps     []smokeStep
}

type smokeStep struct {
	name   string
	ok     bool
	took   time.Duration
	detail string
}

func newSmokeTest(a *setup.App, to, webURL string, out io.Writer, now time.Time) (*smokeTest, error) {
	if len(a.Config.Organizers) == 0 {
		return nil, errors.New("no organizer addresses (AFTERPARTY_ORGANIZERS, the stack's OrganizerEmails): the smoke test emails an organizer")
	}
	entry := a.Config.Organizers[0]
	if to != "" {
		want, err := mail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("--to %q: %w", to, err)
		}
		entry = ""
		for _, o := range a.Config.Organizers {
			if got, err := mail.ParseAddress(o); err == nil && group.NormalizeEmail(got.Address) == group.NormalizeEmail(want.Address) {
				entry = o
			}
		}
		if entry == "" {
			return nil, fmt.Errorf("--to %s is not an organizer address (AFTERPARTY_ORGANIZERS, the stack's OrganizerEmails): the smoke test emails organizers only", want.Address)
		}
	}
	addr, err := mail.ParseAddress(entry)
	if err != nil {
		return nil, fmt.Errorf("organizer address %q: %w", entry, err)
	}
	if webURL == "" {
		webURL = a.Config.BaseURL
	}
	loc, err := time.LoadLocation(a.Config.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("AFTERPARTY_TIME_ZONE: %w", err)
	}
	start := now.In(loc).Truncate(time.Minute).Add(smokeLead)
	email := group.NormalizeEmail(addr.Address)
	suffix := make([]byte, 3) // two runs in one second get their own meetings
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	s := &smokeTest{
		app: a, runner: *a.Runner, out: out, to: entry,
		member:    group.Member{ID: group.MemberID(email), Email: email, Name: addr.Name, Status: group.MemberActive, JoinedAt: now},
		meetingID: cycle.SmokePrefix + now.UTC().Format("20060102-150405-") + hex.EncodeToString(suffix),
		start:     start,
		webURL:    strings.TrimRight(webURL, "/"),
	}
	if s.member.Name == "" {
		s.member.Name = SmokeTitle
	}
	s.runner.Only = &cycle.Scope{MeetingID: s.meetingID, MemberIDs: []string{s.member.ID}}
	s.runner.Config.Organizers = []string{entry} // the digest goes to the test address only
	s.runner.Log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return s, nil
}

// row is the test meeting's schedule row.
func (s *smokeTest) row() group.Row {
	text := func(v string) group.Value { return group.Value{Type: "S", Text: v} }
	return group.Row{
		group.FieldMeetingID:  text(s.meetingID),
		group.FieldTitle:      text(SmokeTitle),
		group.FieldStartsAt:   text(s.start.Format(time.RFC3339)),
		group.FieldVenue:      text("Nowhere: a test of the deployment"),
		group.FieldTopic:      text("afterparty smoke checks that this deployment sends its emails and serves its pages. This meeting is removed when the test ends."),
		group.FieldIcebreaker: text("Did the smoke test reach you?"),
		group.FieldPubName:    text("The Smoke Test (not a real pub)"),
	}
}

// run runs every step, always removes the test data, prints the table and fails
// if any step failed.
func (s *smokeTest) run(ctx context.Context) error {
	fmt.Fprintf(s.out, "afterparty smoke test: meeting %s (%s), emails to %s, tables %s and %s\n",
		s.meetingID, s.start.Format("Mon 2 Jan 2006 15:04 MST"), s.member.Email, s.app.Config.ScheduleTable, s.app.Config.StateTable)
	ready := s.step("write the test meeting", func() (string, error) { return s.writeMeeting(ctx) }) &&
		s.step("add the test member", func() (string, error) { return s.addMember(ctx) })
	if ready {
		s.runSteps(ctx)
	} else {
		for _, name := range []string{"invitations", "answer Yes", "reminders", "teasers", "digest", "pub", "SES accepted every send"} {
			s.steps = append(s.steps, smokeStep{name: name, detail: "not run: the test data could not be written"})
		}
	}
	s.step("web URL answers", func() (string, error) { return s.checkWeb(ctx) })
	// The test data goes even if the command is interrupted.
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	s.step("remove the test data", func() (string, error) { return s.cleanUp(cleanCtx) })
	return s.report()
}

// step runs one step, timing it, and records it.
func (s *smokeTest) step(name string, do func() (string, error)) bool {
	began := time.Now()
	detail, err := do()
	st := smokeStep{name: name, ok: err == nil, took: time.Since(began), detail: detail}
	if err != nil {
		st.detail = err.Error()
	}
	s.steps = append(s.steps, st)
	return st.ok
}

func (s *smokeTest) writeMeeting(ctx context.Context) (string, error) {
	if err := s.app.Store.PutScheduleRow(ctx, s.row()); err != nil {
		return "", err
	}
	row, err := s.app.Store.ScheduleRow(ctx, s.meetingID)
	if err != nil {
		return "", fmt.Errorf("read the test meeting back: %w", err)
	}
	m, problems := group.ParseMeeting(row, s.app.Config.TimeZone)
	if len(problems) > 0 {
		return "", fmt.Errorf("the test meeting's row has problems: %v", problems)
	}
	s.meeting = m
	return "schedule row " + s.meetingID + " in " + s.app.Config.ScheduleTable, nil
}

func (s *smokeTest) addMember(ctx context.Context) (string, error) {
	existing, err := s.app.Store.Member(ctx, s.member.ID)
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		created, err := s.app.Store.AddMember(ctx, s.member)
		if err != nil {
			return "", err
		}
		s.created = created
		if !created {
			return "", errors.New("the address became a member while the test ran: run it again")
		}
		return "added as a member (removed at the end)", nil
	case err != nil:
		return "", fmt.Errorf("read member %s: %w", s.member.ID, err)
	}
	s.member = existing
	for _, k := range group.Kinds {
		if !existing.Wants(k) {
			return "", fmt.Errorf("the address is a member (%s) who does not get %s emails: choose another organizer address with --to", existing.Status, k)
		}
	}
	return "already a member: kept as it is", nil
}

// runSteps runs each scheduled function once, as if at its time in the test
// meeting's cycle, and the member's Yes between the invitation and the reminder.
func (s *smokeTest) runSteps(ctx context.Context) {
	m, leads := s.meeting, s.app.Config.Leads
	invite := leads.Window(group.Invitation, m).Opens
	remind := leads.Window(group.Reminder, m).Opens
	if quiet := invite.Add(cycle.ReminderQuietPeriod); remind.Before(quiet) {
		remind = quiet // the reminder waits a day after the invitation
	}
	last := len(group.Digests) - 1
	digestAt := group.DigestWindow(last, m).Opens
	member := func(kind group.Kind, at time.Time) func() (string, error) {
		return func() (string, error) {
			rep, err := s.runner.Run(ctx, kind, at)
			return s.checkRun(ctx, rep, err, string(kind), at)
		}
	}
	s.step("invitations", member(group.Invitation, invite))
	s.step("answer Yes", func() (string, error) {
		at := invite.Add(time.Minute)
		if _, err := s.app.Store.Answer(ctx, m.ID, s.member.ID, group.Yes, 0, m.Capacity, group.SourceLink, at); err != nil {
			return "", err
		}
		return "the test member said Yes as if at " + s.when(at) + " (as the RSVP page records it)", nil
	})
	s.step("reminders", member(group.Reminder, remind))
	s.step("teasers", member(group.Teaser, leads.Window(group.Teaser, m).Opens))
	s.step("digest", func() (string, error) {
		rep, err := s.runner.RunDigest(ctx, digestAt)
		return s.checkRun(ctx, rep, err, group.Digests[last].Name, digestAt)
	})
	s.step("pub", member(group.Pub, leads.Window(group.Pub, m).Opens))
	s.step("connections", member(group.Connections, leads.Window(group.Connections, m).Opens))
	s.step("SES accepted every send", func() (string, error) { return s.checkLedger(ctx) })
}

func (s *smokeTest) when(t time.Time) string {
	return t.In(s.meeting.Location).Format("Mon 2 Jan 15:04 MST")
}

// checkRun checks that a run sent its one email of the test meeting and that SES
// accepted it.
func (s *smokeTest) checkRun(ctx context.Context, rep cycle.Report, runErr error, kind string, at time.Time) (string, error) {
	if runErr != nil {
		return "", fmt.Errorf("as if at %s: %w", s.when(at), runErr)
	}
	var mr *cycle.MeetingReport
	for i := range rep.Meetings {
		if rep.Meetings[i].MeetingID == s.meetingID && rep.Meetings[i].Campaign == "" {
			mr = &rep.Meetings[i]
		}
	}
	switch {
	case mr == nil:
		return "", fmt.Errorf("as if at %s: the run did not see the test meeting", s.when(at))
	case !mr.Sent:
		return "", fmt.Errorf("as if at %s: skipped: %s", s.when(at), mr.Reason)
	case mr.Result.Sent != 1 || mr.Result.Failed > 0 || mr.Result.Pending > 0 || !mr.Result.Finished:
		why := mr.Result.Stopped
		if c, err := s.app.Store.Campaign(ctx, s.meetingID, kind); err == nil && c.LastError != "" {
			why = c.LastError
		}
		if mr.Result.Pending > 0 {
			hint := "SES did not accept it (the warnings on stderr say why; in the SES sandbox an unverified address is left for later)"
			if why == "" {
				why = hint
			} else {
				why += "; " + hint
			}
		}
		return "", fmt.Errorf("as if at %s: sent %d, failed %d, pending %d: %s", s.when(at), mr.Result.Sent, mr.Result.Failed, mr.Result.Pending, why)
	}
	recs, err := s.app.Store.SendRecords(ctx, dynamo.CampaignID(s.meetingID, kind), []string{s.member.ID})
	if err != nil {
		return "", err
	}
	rec := recs[s.member.ID]
	if rec.State != dynamo.SendSent || rec.MessageID == "" {
		return "", fmt.Errorf("the ledger says %q (%s), not sent with an SES message id", rec.State, rec.Error)
	}
	return fmt.Sprintf("%s sent as if at %s; SES message id %s", kind, s.when(at), rec.MessageID), nil
}

// checkLedger reads the test meeting's whole send ledger: each function's email
// must be there, and every entry sent, with SES's message id.
func (s *smokeTest) checkLedger(ctx context.Context) (string, error) {
	kinds := []string{}
	for _, k := range group.Kinds {
		kinds = append(kinds, string(k))
	}
	kinds = append(kinds, group.Digests[len(group.Digests)-1].Name)
	want := len(kinds)
	campaigns, err := s.app.Store.Campaigns(ctx, s.meetingID)
	if err != nil {
		return "", err
	}
	for _, c := range campaigns {
		if !slices.Contains(kinds, c.Kind) {
			kinds = append(kinds, c.Kind) // anything else the runs sent
		}
	}
	sent, total := 0, 0
	var bad []string
	for i, kind := range kinds {
		entries := 0
		for after := ""; ; {
			recs, next, err := s.app.Store.LedgerPage(ctx, dynamo.CampaignID(s.meetingID, kind), after, 100)
			if err != nil {
				return "", err
			}
			for _, r := range recs {
				entries++
				if r.State == dynamo.SendSent && r.MessageID != "" {
					sent++
				} else {
					bad = append(bad, strings.TrimSpace(fmt.Sprintf("%s: %s %s", kind, r.State, r.Error)))
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		total += entries
		if entries == 0 && i < want {
			bad = append(bad, kind+": not sent")
		}
	}
	if len(bad) > 0 || total != want {
		return "", fmt.Errorf("%d of %d sends accepted: %s", sent, want, strings.Join(bad, "; "))
	}
	return fmt.Sprintf("%d of %d accepted (%s), none failed", sent, total, strings.Join(kinds, ", ")), nil
}

// checkWeb fetches the test meeting's public page.
func (s *smokeTest) checkWeb(ctx context.Context) (string, error) {
	if s.webURL == "" {
		return "", errors.New("no web URL: set AFTERPARTY_BASE_URL or pass --web-url")
	}
	page := s.webURL + "/m/" + url.PathEscape(s.meetingID)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return "", fmt.Errorf("web URL %q: %w", s.webURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s did not answer (%v): is the web function there? Locally start `afterparty serve`, or point --web-url at it", page, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s answered %s, want 200 OK", page, resp.Status)
	}
	if !strings.Contains(string(body), html.EscapeString(SmokeTitle)) {
		return "", fmt.Errorf("GET %s answered 200 but the page does not show the test meeting: is that URL this deployment's?", page)
	}
	return "GET " + page + ": 200 OK, the test meeting's page", nil
}

// cleanUp removes everything the test wrote and checks it is gone.
func (s *smokeTest) cleanUp(ctx context.Context) (string, error) {
	var errs []error
	if err := s.app.Store.DeleteScheduleRow(ctx, s.meetingID); err != nil {
		errs = append(errs, fmt.Errorf("delete the schedule row: %w", err))
	}
	n, err := s.app.Store.RemoveMeetingState(ctx, s.meetingID)
	if err != nil {
		errs = append(errs, err)
	}
	member := "the member kept (it was one before)"
	if s.created {
		member = "the test member"
		if err := s.app.Store.DeleteMember(ctx, s.member.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("%w: remove meeting %s by hand", err, s.meetingID)
	}
	// What is left, read back.
	if _, err := s.app.Store.ScheduleRow(ctx, s.meetingID); !errors.Is(err, dynamo.ErrNotFound) {
		return "", fmt.Errorf("the schedule row %s is still there (%v)", s.meetingID, err)
	}
	if left, err := s.app.Store.MeetingItems(ctx, s.meetingID); err != nil || left > 0 {
		return "", fmt.Errorf("%d items of meeting %s are still in the state table (%v)", left, s.meetingID, err)
	}
	if s.created {
		if _, err := s.app.Store.Member(ctx, s.member.ID); !errors.Is(err, dynamo.ErrNotFound) {
			return "", fmt.Errorf("the test member %s is still there (%v)", s.member.ID, err)
		}
	}
	return fmt.Sprintf("deleted the schedule row, %d state items (answers, ledger, campaigns) and %s", n, member), nil
}

// report prints the table and the verdict.
func (s *smokeTest) report() error {
	w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tRESULT\tTIME\tDETAIL")
	var failed []string
	for _, st := range s.steps {
		result := "PASS"
		if !st.ok {
			result = "FAIL"
			failed = append(failed, st.name)
		}
		took := "-"
		if st.took > 0 {
			took = st.took.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", st.name, result, took, st.detail)
	}
	w.Flush()
	if len(failed) > 0 {
		fmt.Fprintf(s.out, "FAIL: %d of %d steps failed\n", len(failed), len(s.steps))
		return fmt.Errorf("smoke test failed: %s", strings.Join(failed, ", "))
	}
	fmt.Fprintf(s.out, "PASS: all %d steps\n", len(s.steps))
	return nil
}
