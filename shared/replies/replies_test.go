package replies_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/replies"
)

var ctx = context.Background()

const domain = "reply.afterparty.example"

// fixture reads testdata/name with the placeholders filled in for member and m.
func fixture(t *testing.T, a *apptest.App, name, member string, m group.Meeting, seq string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	id := group.MemberID(a.Email(member))
	tok, err := a.Signer.ReplyToken("", id, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	run := make([]byte, 6)
	rand.Read(run)
	fill := strings.NewReplacer("{{MEMBER}}", a.Email(member), "{{TOKEN}}", tok, "{{DOMAIN}}", domain,
		"{{UID}}", m.ID+"@afterparty.example", "{{SEQ}}", seq, "{{RUN}}", hex.EncodeToString(run))
	s := fill.Replace(string(b))
	if i := strings.Index(s, "{{CAL_BASE64:"); i >= 0 {
		j := strings.Index(s[i:], "}}")
		cal, err := os.ReadFile("testdata/" + s[i+len("{{CAL_BASE64:"):i+j] + ".ics")
		if err != nil {
			t.Fatal(err)
		}
		crlf := strings.ReplaceAll(fill.Replace(string(cal)), "\n", "\r\n")
		s = s[:i] + base64.StdEncoding.EncodeToString([]byte(crlf)) + s[i+j+2:]
	}
	return []byte(s)
}

func handler(t *testing.T, a *apptest.App, now time.Time) *replies.Handler {
	t.Helper()
	h, err := a.Replies()
	if err != nil {
		t.Fatal(err)
	}
	h.Clock = func() time.Time { return now }
	a.Site.Clock = h.Clock
	return h
}

var pass = replies.Verdicts{SPF: "PASS", DKIM: "PASS", DMARC: "PASS", Spam: "PASS", Virus: "PASS"}

func TestCalendarReplies(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_REPLY_DOMAIN": domain, "AFTERPARTY_ORGANIZERS": "organizers@afterparty.example"})
	a.AddMembers(t, "ada", "grace", "ken", "barbara", "linus")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "2030-12-30", "title": "Tracing Go services", "starts_at": "2030-12-30T18:30",
		"venue": "Central Library", "capacity": "1"})
	now := m.Start.Add(-10 * 24 * time.Hour)
	h := handler(t, a, now)

	tests := []struct {
		name, file, member string
		v                  replies.Verdicts
		action             string
		answer             group.Answer
		place              string
	}{
		{"Google Calendar accepts", "google-accepted.eml", "ada", pass, "recorded", group.Yes, group.PlaceGoing},
		{"Apple Calendar, bare LF, quoted-printable, folded: tentative", "apple-tentative.eml", "grace", pass, "recorded", group.Maybe, ""},
		{"Outlook, base64, no ORGANIZER: declines", "outlook-declined.eml", "ken", pass, "recorded", group.No, ""},
		{"Fastmail (Cyrus iMIP: Auto-Submitted: auto-generated, VTIMEZONE) accepts", "fastmail-accepted.eml", "linus", pass, "recorded", group.Yes, group.PlaceWaitlisted},
		{"a Yes beyond capacity is waitlisted", "google-accepted.eml", "barbara", replies.Verdicts{DMARC: "FAIL", SPF: "FAIL"}, "recorded", group.Yes, group.PlaceWaitlisted},
		{"auto-reply", "autoreply.eml", "ken", pass, "ignored", "", ""},
		{"a person writes back", "human.eml", "ken", pass, "forwarded", "", ""},
		{"Outlook TNEF", "tnef.eml", "ken", pass, "forwarded", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := fixture(t, a, tc.file, tc.member, m, "0")
			out, err := h.Inbound(ctx, raw, nil, "", tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if out.Action != tc.action || out.Answer != tc.answer && tc.action == "recorded" || out.Place != tc.place && tc.place != "" {
				t.Fatalf("outcome %+v, want %s %s %s", out, tc.action, tc.answer, tc.place)
			}
			if tc.action == "recorded" {
				r, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email(tc.member)))
				if err != nil || r.Answer != tc.answer {
					t.Errorf("RSVP %+v, %v; want %s", r, err, tc.answer)
				}
			}
			again, err := h.Inbound(ctx, raw, nil, "", tc.v)
			if err != nil || (tc.action != "ignored" && again.Action != "duplicate") {
				t.Errorf("the same message again: %+v, %v; want duplicate", again, err)
			}
		})
	}
	// The waitlisted notice is recorded in the outbox; one sweep sends it.
	if _, err := a.Runner.SendNotices(ctx); err != nil {
		t.Fatalf("outbox sweep: %v", err)
	}
	if n := len(a.Inbox(t, a.Email("barbara"))); n != 1 {
		t.Errorf("barbara, waitlisted from her calendar, got %d emails, want 1 saying so", n)
	}
	if got := a.Inbox(t, a.Email("barbara")); len(got) == 1 && !strings.Contains(got[0].Subject, "waitlist") {
		t.Errorf("barbara's email: %q", got[0].Subject)
	}
}

func TestRepliesNotRecorded(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_REPLY_DOMAIN": domain})
	a.AddMembers(t, "ada", "mallory")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "2030-12-30", "title": "Tracing Go services", "starts_at": "2030-12-30T18:30", "venue": "Central Library"})
	h := handler(t, a, m.Start.Add(-10*24*time.Hour))
	unauthenticated := replies.Verdicts{SPF: "FAIL", DKIM: "FAIL", DMARC: "FAIL"}

	spoofed := strings.ReplaceAll(string(fixture(t, a, "google-accepted.eml", "ada", m, "0")), "From: Ada Lovelace <"+a.Email("ada")+">", "From: Ada <"+a.Email("mallory")+">")
	forwarded := strings.ReplaceAll(string(fixture(t, a, "google-accepted.eml", "ada", m, "0")), a.Email("ada"), "bob@elsewhere.example")
	forged := strings.Replace(string(fixture(t, a, "google-accepted.eml", "ada", m, "0")), "rsvp+", "rsvp+a", 1)
	tests := []struct {
		name, raw string
		v         replies.Verdicts
		at        time.Time
		reason    string
	}{
		{"spoofed From, unauthenticated", spoofed, unauthenticated, m.Start.Add(-time.Hour), "could not authenticate"},
		{"forwarded invitation answered by someone else", forwarded, pass, m.Start.Add(-time.Hour), "someone else"},
		{"forged token", forged, pass, m.Start.Add(-time.Hour), "without a valid reply token"},
		{"after the start", string(fixture(t, a, "google-accepted.eml", "ada", m, "0")), pass, m.Start.Add(time.Minute), "started"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.Clock = func() time.Time { return tc.at }
			out, err := h.Inbound(ctx, []byte(tc.raw), nil, "", tc.v)
			if err != nil || out.Action != "ignored" || !strings.Contains(out.Reason, tc.reason) {
				t.Fatalf("outcome %+v, %v; want ignored: %s", out, err, tc.reason)
			}
			if _, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("ada"))); err == nil {
				t.Error("an answer was recorded")
			}
		})
	}
}
