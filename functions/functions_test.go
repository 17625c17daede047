// Package functions_test runs every function as a built bootstrap under the Lambda
// runtime interface emulator, with real event fixtures, and checks the effect in
// the emulators.
package functions_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

const secret = "rie-test-secret-rie-test-secret"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scheduledEvent is the EventBridge fixture with its time set to at.
func scheduledEvent(t *testing.T, at time.Time) []byte {
	t.Helper()
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(fixture(t, "scheduled-event.json"), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Time.IsZero() {
		t.Fatalf("fixture is not a scheduled event: %+v", ev)
	}
	ev.Time = at.UTC()
	b, _ := json.Marshal(ev)
	return b
}

func env(a *apptest.App) []string {
	return append(a.Stack.Env(a.Config.ScheduleTable, a.Config.StateTable),
		"AFTERPARTY_LINK_SECRET="+secret, "HOME="+os.TempDir())
}

func TestScheduledFunctionsUnderRIE(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
	members := a.AddMembers(t, "ada", "grace", "ken")
	m := a.PutMeeting(t, map[string]string{
		"meeting_id": "rie", "title": "Lambda, for real", "starts_at": "2031-03-13T18:30",
		"venue": "Hall", "speaker": "Rob", "speaker_intro": "Rob keeps bees.", "pub_name": "The Crown",
	})
	ctx := context.Background()
	for member, ans := range map[string]group.Answer{"ada": group.Yes, "grace": group.No} {
		if _, err := a.Store.SetRSVP(ctx, m.ID, members[member].ID, ans, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		fn   string
		at   time.Time
		want map[string]int // emails by member, cumulative, whose subject contains subj
		subj string
	}{
		{"invitations", m.Start.AddDate(0, 0, -14), map[string]int{"ada": 1, "grace": 1, "ken": 1}, "invited"},
		{"reminders", m.Start.Add(-48 * time.Hour), map[string]int{"ada": 1, "ken": 1}, "Reminder"},
		{"teasers", m.Start.Add(-24 * time.Hour), map[string]int{"ada": 1}, "icebreaker"},
		{"pub", m.End.Add(time.Minute), map[string]int{"ada": 1}, "After-party"},
	}
	for _, s := range steps {
		t.Run(s.fn, func(t *testing.T) {
			f := lambdatest.Start(t, lambdatest.Build(t, s.fn), env(a))
			var rep cycle.Report
			out := f.Invoke(t, scheduledEvent(t, s.at))
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if !rep.At.Equal(s.at) {
				t.Errorf("the function planned as of %v, want the event's time %v", rep.At, s.at)
			}
			// A duplicate delivery of the same event sends nothing more.
			f.Invoke(t, scheduledEvent(t, s.at))
			got := a.Counts(t, s.subj)
			for k, n := range s.want {
				if got[k] != n {
					t.Fatalf("%s: emails %v, want %v", s.fn, got, s.want)
				}
			}
			if len(got) != len(s.want) {
				t.Fatalf("%s: emails %v, want %v", s.fn, got, s.want)
			}
			t.Logf("%s cold start %v", s.fn, f.ColdStart())
		})
	}
}

func TestWebFunctionUnderRIE(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
	members := a.AddMembers(t, "ada")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "web-rie", "title": `Pages & "escaping" <3`, "venue": "Hall", "starts_at": "2031-03-13T18:30"})
	f := lambdatest.Start(t, lambdatest.Build(t, "web"), env(a))

	get := strings.ReplaceAll(string(fixture(t, "function-url-get.json")), "MEETING_ID", m.ID)
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(f.Invoke(t, []byte(get)), &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.Contains(res.Body, "Pages &amp; &#34;escaping&#34; &lt;3") {
		t.Fatalf("meeting page: %d %q", res.StatusCode, res.Body)
	}

	// The RSVP POST from the member's own link records the answer in DynamoDB.
	l := cycle.MemberLinks(a.Runner.Links, m, members["ada"], time.Now())
	u, _ := url.Parse(l.Yes)
	body := url.Values{"t": {u.Query().Get("t")}, "answer": {"maybe"}}.Encode()
	post := strings.Replace(string(fixture(t, "function-url-post.json")), "BODY", base64.StdEncoding.EncodeToString([]byte(body)), 1)
	if err := json.Unmarshal(f.Invoke(t, []byte(post)), &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("RSVP POST: %d %s", res.StatusCode, res.Body)
	}
	got, err := a.Store.RSVP(context.Background(), m.ID, members["ada"].ID)
	if err != nil || got.Answer != group.Maybe {
		t.Fatalf("answer in DynamoDB: %+v %v", got, err)
	}

	// A forged token is refused and changes nothing.
	forged := strings.Replace(post, base64.StdEncoding.EncodeToString([]byte(body)),
		base64.StdEncoding.EncodeToString([]byte(url.Values{"t": {"forged." + u.Query().Get("t")}, "answer": {"no"}}.Encode())), 1)
	if err := json.Unmarshal(f.Invoke(t, []byte(forged)), &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode < 400 || res.StatusCode > 499 {
		t.Fatalf("forged RSVP: %d", res.StatusCode)
	}
	if got, _ := a.Store.RSVP(context.Background(), m.ID, members["ada"].ID); got.Answer != group.Maybe {
		t.Fatalf("a forged POST changed the answer to %s", got.Answer)
	}
}
