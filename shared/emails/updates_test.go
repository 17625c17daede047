package emails_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

func TestChanges(t *testing.T) {
	la := "America/Los_Angeles"
	tests := []struct {
		name   string
		change func(m *group.Meeting)
		want   []string
	}{
		{"nothing", func(*group.Meeting) {}, nil},
		{"topic, title, speaker and pub", func(m *group.Meeting) {
			m.Topic, m.Title, m.Speaker, m.PubName = "typo fixed", "New title", "Someone", "Another pub"
		}, nil},
		{"start and end", func(m *group.Meeting) { m.Start, m.End = m.Start.Add(time.Hour), m.End.Add(time.Hour) },
			[]string{"New time: Thursday 10 December 2026, 19:30–21:30 PST (was Thursday 10 December 2026, 18:30–20:30 PST)"}},
		{"end only", func(m *group.Meeting) { m.End = m.End.Add(30 * time.Minute) },
			[]string{"New time: Thursday 10 December 2026, 18:30–21:00 PST (was Thursday 10 December 2026, 18:30–20:30 PST)"}},
		{"zone only, same instants", func(m *group.Meeting) {
			loc, _ := time.LoadLocation("America/Denver")
			m.Location, m.Start, m.End = loc, m.Start.In(loc), m.End.In(loc)
		}, []string{"New time: Thursday 10 December 2026, 19:30–21:30 MST (was Thursday 10 December 2026, 18:30–20:30 PST)"}},
		{"venue", func(m *group.Meeting) { m.Venue = "The Annex" },
			[]string{"New venue: The Annex, 12 Main St, Portland, OR 97214 (was Ada's Café, 12 Main St, Portland, OR 97214)"}},
		{"venue address removed", func(m *group.Meeting) { m.Venue, m.VenueAddress = "", "" },
			[]string{"New venue: not set (was Ada's Café, 12 Main St, Portland, OR 97214)"}},
		{"cancelled", func(m *group.Meeting) { m.Status = group.StatusCancelled }, []string{"Cancelled."}},
		{"cancelled and moved", func(m *group.Meeting) { m.Status = group.StatusCancelled; m.Start = m.Start.Add(-time.Hour) },
			[]string{"Cancelled.", "New time: Thursday 10 December 2026, 17:30–20:30 PST (was Thursday 10 December 2026, 18:30–20:30 PST)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fixture(t, group.Invitation, la, "2026-12-10T18:30").Meeting
			after := before
			tt.change(&after)
			if got := emails.Changes(before, after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Changes = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("back on", func(t *testing.T) {
		before := fixture(t, group.Invitation, la, "2026-12-10T18:30").Meeting
		before.Status = group.StatusCancelled
		after := before
		after.Status = group.StatusScheduled
		if got := emails.Changes(before, after); len(got) != 1 || !strings.HasPrefix(got[0], "Back on") {
			t.Errorf("Changes = %q, want one \"Back on\" line", got)
		}
	})
}

// TestAddToCalendarLinks: the invitation and its update carry Google Calendar,
// Outlook.com and .ics links in both parts, filled with the meeting and nothing of
// the member; a cancellation carries none.
func TestAddToCalendarLinks(t *testing.T) {
	la := "America/Los_Angeles"
	update := fixture(t, group.Invitation, la, "2026-11-02T18:30") // the day after DST ends
	before := update.Meeting
	update.Meeting.Start, update.Meeting.End = update.Meeting.Start.Add(time.Hour), update.Meeting.End.Add(time.Hour)
	update.Sequence, update.Changes = 1, emails.Changes(before, update.Meeting)
	cancelled := fixture(t, group.Invitation, la, "2026-12-10T18:30")
	cancelled.Meeting.Status = group.StatusCancelled
	cancelled.Sequence = 1

	tests := []struct {
		name      string
		msg       emails.Message
		wantLinks bool
	}{
		{"invitation", fixture(t, group.Invitation, la, "2026-12-10T18:30"), true},
		{"update across DST", update, true},
		{"cancellation", cancelled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.msg
			_, p := render(t, m)
			text, htm := p.text(t), p.html(t)
			google, outlook := m.GoogleCalendarURL(), m.OutlookURL()
			for _, part := range []struct{ name, body string }{{"text", text}, {"HTML", htm}} {
				for _, l := range []string{google, outlook, m.Links.Calendar} {
					if got := strings.Contains(part.body, l); got != tt.wantLinks {
						t.Errorf("%s part has link %s: %v, want %v", part.name, l, got, tt.wantLinks)
					}
				}
			}
			if !tt.wantLinks {
				return
			}
			g, err := url.Parse(google)
			if err != nil || g.Host != "calendar.google.com" {
				t.Fatalf("Google link %q: %v", google, err)
			}
			const utc = "20060102T150405Z"
			q := g.Query()
			wantDates := m.Meeting.Start.UTC().Format(utc) + "/" + m.Meeting.End.UTC().Format(utc)
			if q.Get("text") != m.Meeting.Title || q.Get("dates") != wantDates || q.Get("ctz") != la ||
				q.Get("location") != m.Meeting.Venue+", "+m.Meeting.VenueAddress {
				t.Errorf("Google link query %v, want dates %s", q, wantDates)
			}
			o, err := url.Parse(outlook)
			if err != nil || o.Host != "outlook.live.com" {
				t.Fatalf("Outlook link %q: %v", outlook, err)
			}
			q = o.Query()
			start, err1 := time.Parse(time.RFC3339, q.Get("startdt"))
			end, err2 := time.Parse(time.RFC3339, q.Get("enddt"))
			if err1 != nil || err2 != nil || !start.Equal(m.Meeting.Start) || !end.Equal(m.Meeting.End) || q.Get("subject") != m.Meeting.Title {
				t.Errorf("Outlook link query %v", q)
			}
			for _, u := range []*url.URL{g, o} {
				var values strings.Builder
				for _, vs := range u.Query() {
					values.WriteString(strings.Join(vs, "\n"))
				}
				for _, private := range []string{m.Member.Email, m.Member.Name, m.Links.Yes, m.Links.Unsubscribe} {
					if strings.Contains(values.String(), private) {
						t.Errorf("add-to-calendar link carries member data %q: %s", private, u)
					}
				}
			}
			if !strings.Contains(q.Get("body"), m.Links.MeetingPage) {
				t.Errorf("Outlook body %q lacks the meeting page", q.Get("body"))
			}
		})
	}
}
