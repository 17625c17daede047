package cycle_test

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/group"
)

// sentDates is the SES client with every raw email's Date header kept.
type sentDates struct {
	campaign.SES
	mu    sync.Mutex
	dates []time.Time
	bad   []error
}

func (s *sentDates) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(in.Content.Raw.Data))
	var d time.Time
	if err == nil {
		d, err = msg.Header.Date()
	}
	s.mu.Lock()
	if err != nil {
		s.bad = append(s.bad, err)
	}
	s.dates = append(s.dates, d)
	s.mu.Unlock()
	return s.SES.SendEmail(ctx, in, opts...)
}

// TestDateIsWhenSent: a long campaign's emails say when each went out, not when
// the run started. The run is planned as of `at` (the event's time); the clock says
// it is 37 minutes later when the emails are sent.
func TestDateIsWhenSent(t *testing.T) {
	a, orgs := organizerApp(t)
	a.AddMembers(t, "ada", "bob", "cy")
	m := a.PutMeeting(t, meetingFields("dated"))
	tests := []struct {
		name string
		at   time.Time
		run  func(at time.Time) error
		want int
	}{
		{"member emails", m.Start.AddDate(0, 0, -14), func(at time.Time) error {
			_, err := a.Runner.Run(ctx, group.Invitation, at)
			return err
		}, 3},
		{"organizer digest", m.Start.Add(-20 * time.Hour), func(at time.Time) error {
			_, err := a.Runner.RunDigest(ctx, at)
			return err
		}, len(orgs)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sending := tt.at.Add(37 * time.Minute)
			ses := &sentDates{SES: a.Runner.SES}
			a.Runner.SES, a.Runner.Clock = ses, func() time.Time { return sending }
			t.Cleanup(func() { a.Runner.SES, a.Runner.Clock = ses.SES, time.Now })
			if err := tt.run(tt.at); err != nil {
				t.Fatal(err)
			}
			if len(ses.bad) > 0 || len(ses.dates) != tt.want {
				t.Fatalf("%d emails sent (want %d); unreadable Date headers: %v", len(ses.dates), tt.want, ses.bad)
			}
			for _, d := range ses.dates {
				if !d.Equal(sending) {
					t.Errorf("Date %v, want the time of sending %v (the run started at %v)", d.UTC(), sending.UTC(), tt.at.UTC())
				}
			}
		})
	}
}

// TestEveryRunReloadsTheKeys: each run of a member kind and of the digest first
// reads the link-signing keys again, so a warm function never signs with a key a
// rotation retired; a failed read does not stop the run.
func TestEveryRunReloadsTheKeys(t *testing.T) {
	a, _ := organizerApp(t)
	a.AddMembers(t, "ada")
	m := a.PutMeeting(t, meetingFields("keys"))
	var reloads int
	a.Runner.ReloadKeys = func(context.Context) error { reloads++; return errors.New("injected: secret unreadable") }
	if n := run(t, a, group.Invitation, m.Start.AddDate(0, 0, -14)); n != 1 || reloads != 1 {
		t.Fatalf("invitations: %d sent, %d reloads; want 1 and 1", n, reloads)
	}
	if _, err := a.Runner.RunDigest(ctx, m.Start.Add(-20*time.Hour)); err != nil || reloads != 2 {
		t.Fatalf("digest: %v, %d reloads; want 2", err, reloads)
	}
}
