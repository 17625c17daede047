package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// demoMembers are the people on the demo list; the first four answer by clicking,
// the fifth (demoCalendarMember) in their calendar app.
var demoMembers = []group.Member{
	{Email: "ada@members.example", Name: "Ada Lovelace"},
	{Email: "grace@members.example", Name: "Grace Hopper"},
	{Email: "ken@members.example", Name: "Ken Thompson"},
	{Email: "barbara@members.example", Name: "Barbara Liskov"},
	{Email: "linus@members.example", Name: "Linus Torvalds"},
	{Email: "margaret@members.example", Name: "Margaret Hamilton"},
}

var demoAnswers = []group.Answer{group.Yes, group.Yes, group.Maybe, group.No}

// demoCalendarMember presses Yes in their calendar on the update.
const demoCalendarMember = 4

func demoCmd() *cobra.Command {
	var addr, inbox string
	var step time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole meeting cycle on a fast clock against the local stack (what `make run` runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if os.Getenv("AFTERPARTY_REPLY_DOMAIN") == "" {
				// Invitations carry reply addresses, so a member can answer from
				// their calendar (demoCalendarAnswer).
				os.Setenv("AFTERPARTY_REPLY_DOMAIN", demoReplyDomain)
			}
			a, err := quietApp(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if _, err := a.Store.ScheduleRows(ctx); err != nil {
				return fmt.Errorf("the local stack does not answer (start it with `make stack`): %w", err)
			}
			meeting, err := seedDemo(ctx, a)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("serve member pages on %s: %w", addr, err)
			}
			sweepNotices(ctx, a) // promotions, join confirmations and welcomes from the outbox
			srv := &http.Server{Handler: a.Site.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(ln)
			defer srv.Close()

			fmt.Fprintf(out, "\nafterparty demo: %d members, meeting %q on %s\n", len(demoMembers), meeting.Title, meeting.Start.Format("Mon 2 Jan 15:04 MST"))
			fmt.Fprintf(out, "  emails:        %s   (the SES emulator's inbox; JSON at %s/store)\n", inbox, inbox)
			fmt.Fprintf(out, "  member pages:  http://%s   (every link in the emails points here)\n", ln.Addr())
			fmt.Fprintf(out, "  the CLI:       eval \"$(go run ./cmd/afterparty env)\"; go run ./cmd/afterparty rsvps %s\n\n", meeting.ID)

			opens := func(k group.Kind) time.Time { return a.Config.Leads.Window(k, meeting).Opens.Add(time.Minute) }
			ticks := []struct {
				at   time.Time
				note string
			}{
				{opens(group.Invitation), "invitations are due"},
				{opens(group.Invitation).Add(3 * 24 * time.Hour), "the organizers moved the meeting to a bigger room: calendars get an update"},
				{opens(group.Reminder), "reminders are due"},
				{opens(group.Teaser), "icebreaker teasers and the organizers' 1-day digest are due"},
				{meeting.Start.Add(-3 * time.Hour).Add(time.Minute), "3 hours to go: the organizers' last headcount"},
				{meeting.End.Add(5 * time.Minute), "the meeting just ended: pub email"},
				{a.Config.Leads.ConnectionsOpen(meeting).Add(time.Minute), "the morning after: who did you meet?"},
			}
			for i, tick := range ticks {
				if i > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(step):
					}
				}
				fmt.Fprintf(out, "[demo clock %s] %s\n", tick.at.In(meeting.Location).Format("Mon 2 Jan 15:04 MST"), tick.note)
				if i == 1 {
					if err := moveDemoMeeting(ctx, a, meeting.ID); err != nil {
						fmt.Fprintf(out, "  moving the meeting: %v\n", err)
					}
				}
				for _, kind := range group.Kinds {
					rep, err := a.Runner.Run(ctx, kind, tick.at)
					if err != nil {
						fmt.Fprintf(out, "  %s: %v\n", kind, err)
					}
					for _, m := range rep.Meetings {
						if m.Sent && m.Result.Sent > 0 {
							name := string(kind)
							if m.Campaign != "" {
								name = m.Campaign
							}
							fmt.Fprintf(out, "  %-11s %s: sent %d\n", name, m.MeetingID, m.Result.Sent)
						}
					}
				}
				if rep, err := a.Runner.RunDigest(ctx, tick.at); err != nil {
					fmt.Fprintf(out, "  digest: %v\n", err)
				} else {
					for _, m := range rep.Meetings {
						if m.Sent && m.Result.Sent > 0 {
							fmt.Fprintf(out, "  %-11s %s: sent %d (to the organizers)\n", "digest", m.MeetingID, m.Result.Sent)
						}
					}
				}
				switch i {
				case 0:
					demoClicks(ctx, out, a, meeting, "http://"+ln.Addr().String(), tick.at)
				case 1:
					demoCalendar(ctx, out, a, meeting, tick.at)
				case len(ticks) - 2:
					demoPubClicks(ctx, out, a, meeting, "http://"+ln.Addr().String(), tick.at)
				case len(ticks) - 1:
					demoMet(ctx, out, a, meeting, "http://"+ln.Addr().String(), tick.at)
				}
			}
			fmt.Fprintf(out, "\nThe cycle is done. Open %s to read every email and click its links.\nCtrl-C stops everything.\n", inbox)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "where to serve the member pages")
	cmd.Flags().StringVar(&inbox, "inbox", "http://127.0.0.1:8005", "the SES emulator's inbox, printed for you")
	cmd.Flags().DurationVar(&step, "step", 8*time.Second, "real time between demo clock ticks")
	return cmd
}

// seedDemo puts the demo members and meetings in the tables: a meeting 15 days from
// now with the full cycle ahead of it, and next month's.
func seedDemo(ctx context.Context, a *setup.App) (group.Meeting, error) {
	for _, m := range demoMembers {
		m.JoinedAt = time.Now()
		if _, err := a.Store.AddMember(ctx, m); err != nil {
			return group.Meeting{}, err
		}
	}
	loc, _ := time.LoadLocation(a.Config.TimeZone)
	day := time.Now().In(loc).AddDate(0, 0, 15)
	next := day.AddDate(0, 0, 28)
	s := func(v string) group.Value { return group.Value{Type: "S", Text: v} }
	rows := []group.Row{
		{
			group.FieldMeetingID:    s(day.Format("2006-01-02")),
			group.FieldTitle:        s("Tracing Go services, and what the traces told us"),
			group.FieldStartsAt:     s(day.Format("2006-01-02") + "T18:30"),
			group.FieldVenue:        s("Community Room, Central Library"),
			group.FieldVenueAddress: s("801 SW 10th Ave, Portland, OR 97205"),
			group.FieldSpeaker:      s("Selena Deckelmann"),
			group.FieldSpeakerIntro: s("Selena once ran a user group out of a pub booth, and she still thinks the after-party is the best part of any meeting. Ask her about sombreros."),
			group.FieldTopic:        s("How a handful of spans found the slow query nobody believed was slow."),
			group.FieldPubName:      s("The Lucky Labrador"),
			group.FieldPubAddress:   s("915 SE Hawthorne Blvd, Portland, OR 97214"),
			group.FieldCapacity:     {Type: "N", Text: "40"},
		},
		{
			group.FieldMeetingID:  s(next.Format("2006-01-02")),
			group.FieldTitle:      s("Lightning talks: five minutes, any topic"),
			group.FieldStartsAt:   s(next.Format("2006-01-02") + "T18:30"),
			group.FieldVenue:      s("Community Room, Central Library"),
			group.FieldIcebreaker: s("What's a tool you loved that nobody uses any more?"),
			group.FieldPubName:    s("The Lucky Labrador"),
		},
	}
	for _, r := range rows {
		if err := a.Store.PutScheduleRow(ctx, r); err != nil {
			return group.Meeting{}, err
		}
	}
	m, problems := group.ParseMeeting(rows[0], a.Config.TimeZone)
	if len(problems) > 0 {
		return m, problems
	}
	return m, nil
}

// moveDemoMeeting changes the demo meeting's venue, as an organizer editing the
// schedule would: the next invitations run sends everyone invited an update.
func moveDemoMeeting(ctx context.Context, a *setup.App, id string) error {
	row, err := a.Store.ScheduleRow(ctx, id)
	if err != nil {
		return err
	}
	row[group.FieldVenue] = group.Value{Type: "S", Text: "Collins Gallery (the big room), Central Library"}
	return a.Store.PutScheduleRow(ctx, row)
}

// demoClicks answers the invitation for the first demo members the way a member
// does: a POST to the RSVP link from their email.
func demoClicks(ctx context.Context, out io.Writer, a *setup.App, m group.Meeting, base string, at time.Time) {
	for i, ans := range demoAnswers {
		member := demoMembers[i]
		member.ID = group.MemberID(member.Email)
		l := cycle.MemberLinks(a.Runner.Links, m, member, at)
		status, err := postLink(ctx, base, l.Yes, url.Values{"answer": {string(ans)}})
		fmt.Fprintf(out, "  %s clicked %q: HTTP %d %v\n", member.Name, ans, status, errOrEmpty(err))
	}
}

// demoCalendar has a demo member press Yes in their calendar app on the update they
// were just sent, and keeps the REPLY their calendar sent for `afterparty inbound`.
func demoCalendar(ctx context.Context, out io.Writer, a *setup.App, m group.Meeting, at time.Time) {
	member := demoMembers[demoCalendarMember]
	member.ID = group.MemberID(member.Email)
	raw, res, err := demoCalendarAnswer(ctx, a, m, member, group.Yes, at)
	if err != nil {
		fmt.Fprintf(out, "  %s pressed Yes in their calendar: %v\n", member.Name, err)
		return
	}
	fmt.Fprintf(out, "  %s pressed Yes in their calendar: the REPLY to their reply address was %s (%s)\n", member.Name, res.Action, res.Answer)
	if f, err := os.CreateTemp("", "afterparty-demo-reply-*.eml"); err == nil {
		_, werr := f.Write(raw)
		if cerr := f.Close(); werr == nil && cerr == nil {
			fmt.Fprintf(out, "    the message is in %s: `afterparty inbound` it again and nothing changes (a duplicate)\n", f.Name())
		}
	}
}

func demoPubClicks(ctx context.Context, out io.Writer, a *setup.App, m group.Meeting, base string, at time.Time) {
	for _, member := range demoMembers[:2] {
		member.ID = group.MemberID(member.Email)
		l := cycle.MemberLinks(a.Runner.Links, m, member, at)
		status, err := postLink(ctx, base, l.Pub, url.Values{"coming": {"yes"}})
		fmt.Fprintf(out, "  %s clicked \"I'm coming to the pub\": HTTP %d %v\n", member.Name, status, errOrEmpty(err))
	}
}

// postLink POSTs to a link as the page's button does, against the local server
// (the link's own host may be the configured base URL).
func postLink(ctx context.Context, base, link string, form url.Values) (int, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, err
	}
	form.Set("t", u.Query().Get("t"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+u.Path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, errors.New("unexpected status")
	}
	return res.StatusCode, nil
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
