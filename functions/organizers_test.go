package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/shared/group"
)

// sesEvent is an SNS delivery fixture of a real SES event, addressed to addr.
func sesEvent(t *testing.T, name, addr string) []byte {
	t.Helper()
	b := fixture(t, name)
	if !strings.Contains(string(b), "RECIPIENT") {
		t.Fatalf("fixture %s names no RECIPIENT", name)
	}
	return []byte(strings.ReplaceAll(string(b), "RECIPIENT", addr))
}

// TestFeedbackFunctionUnderRIE replays SES bounce and complaint events through the
// built feedback function and checks the members in DynamoDB: a hard bounce and a
// complaint suppress at once, soft bounces only at the third; then the suppressed
// members get nothing from an invitations run, and the others still do.
func TestFeedbackFunctionUnderRIE(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
	ms := a.AddMembers(t, "hard", "spam", "soft", "fine")
	f := lambdatest.Start(t, lambdatest.Build(t, "feedback"), env(a))
	ctx := context.Background()
	steps := []struct {
		fixture, member string
		want            map[string]string // status of each member after the step
	}{
		{"ses-bounce-permanent.json", "hard", map[string]string{"hard": group.MemberSuppressed, "spam": group.MemberActive, "soft": group.MemberActive, "fine": group.MemberActive}},
		{"ses-complaint.json", "spam", map[string]string{"hard": group.MemberSuppressed, "spam": group.MemberSuppressed, "soft": group.MemberActive}},
		{"ses-bounce-transient.json", "soft", map[string]string{"soft": group.MemberActive}},
		{"ses-bounce-transient.json", "soft", map[string]string{"soft": group.MemberActive}},
		{"ses-bounce-transient.json", "soft", map[string]string{"soft": group.MemberSuppressed, "fine": group.MemberActive}},
		{"ses-bounce-permanent.json", "stranger", map[string]string{"fine": group.MemberActive}}, // not a member: nothing changes
		{"ses-complaint.json", "spam", map[string]string{"spam": group.MemberSuppressed}},        // SNS redelivers: same effect
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%d-%s-%s", i, s.fixture, s.member), func(t *testing.T) {
			res := f.Call(t, sesEvent(t, s.fixture, a.Email(s.member)))
			if res.FunctionError != "" {
				t.Fatalf("the function failed: %s", res.FunctionError)
			}
			for local, want := range s.want {
				got, err := a.Store.Member(ctx, ms[local].ID)
				if err != nil || got.Status != want {
					t.Fatalf("%s: status %q (%v), want %q", local, got.Status, err, want)
				}
			}
		})
	}
	m := a.PutMeeting(t, map[string]string{"meeting_id": "after-feedback", "title": "Deliverability", "starts_at": "2031-03-13T18:30", "venue": "Hall"})
	if _, err := a.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14)); err != nil {
		t.Fatal(err)
	}
	if got := a.Counts(t, "invited"); got["fine"] != 1 || len(got) != 1 {
		t.Fatalf("invitations after feedback: %v, want only fine", got)
	}
}

// TestDigestFunctionUnderRIE runs the built digest function on a scheduled event a
// day before a meeting: each organizer gets one digest with the headcount, and a
// duplicate delivery of the event sends nothing more.
func TestDigestFunctionUnderRIE(t *testing.T) {
	org := fmt.Sprintf("org-%d@digest.example", time.Now().UnixNano())
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret, "AFTERPARTY_ORGANIZERS": org})
	ms := a.AddMembers(t, "ada", "bob")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "digest-rie", "title": "Headcounts", "starts_at": "2031-03-13T18:30", "venue": "Hall", "pub_name": "The Crown"})
	ctx := context.Background()
	for local, ans := range map[string]group.Answer{"ada": group.Yes, "bob": group.Maybe} {
		if _, err := a.Store.SetRSVP(ctx, m.ID, ms[local].ID, ans, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f := lambdatest.Start(t, lambdatest.Build(t, "digest"), append(env(a), "AFTERPARTY_ORGANIZERS="+org))
	for range 2 {
		var rep struct {
			Kind string `json:"kind"`
		}
		out := f.Invoke(t, scheduledEvent(t, m.Start.Add(-24*time.Hour)))
		if err := json.Unmarshal(out, &rep); err != nil || rep.Kind != "digest" {
			t.Fatalf("answer %s: %v", out, err)
		}
	}
	got := a.Inbox(t, org)
	if len(got) != 1 || !strings.Contains(got[0].Subject, "1 yes, 1 maybe") || !strings.Contains(got[0].Body.Text, "Ada Tester") {
		t.Fatalf("organizer inbox: %d emails %+v", len(got), got)
	}
	if n := len(a.Inbox(t, a.Email("ada"))); n != 0 {
		t.Fatalf("a member got %d emails from the digest function", n)
	}
}
