package functions_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/iam"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/setup"
)

// functionIDs maps each function's directory to its logical id in template.yaml.
var functionIDs = map[string]string{
	"invitations": "InvitationsFunction", "reminders": "RemindersFunction", "teasers": "TeasersFunction",
	"pub": "PubFunction", "digest": "DigestFunction", "web": "WebFunction", "feedback": "FeedbackFunction",
	"replies": "RepliesFunction", "outbox": "OutboxFunction",
}

// TestIAMPoliciesAreWhatTheFunctionsCall runs every function as a built bootstrap
// through one meeting's cycle, each signing its requests with its own access key
// id, and reads from the strict layers' recorder which API action each called on
// which table, identity, configuration set and secret. Each function's policy in
// template.yaml must grant exactly those: nothing called is missing, and nothing
// granted goes uncalled, except the grants listed in failurePaths, each with the
// code path that needs it and that a happy cycle does not take.
func TestIAMPoliciesAreWhatTheFunctionsCall(t *testing.T) {
	stack := localstack.Get(t)
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:afterparty-link-iam"
	stack.Secrets.Put(arn, "iam-test-link-secret-iam-test-link-secret", time.Now())
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
	ms := a.AddMembers(t, "ada", "grace", "ken")
	m := a.PutMeeting(t, map[string]string{
		"meeting_id": "iam", "title": "Least privilege", "starts_at": "2031-03-13T18:30", "capacity": "2",
		"venue": "Hall", "speaker": "Rob", "speaker_intro": "Rob keeps bees.", "pub_name": "The Crown",
	})
	fnEnv := func(fn string) []string {
		var out []string
		for _, kv := range env(a) {
			if !strings.HasPrefix(kv, "AFTERPARTY_LINK_SECRET=") && !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") {
				out = append(out, kv)
			}
		}
		out = append(out, "AFTERPARTY_REPLY_DOMAIN="+replyDomain,
			"AFTERPARTY_INBOUND_BUCKET="+localstack.LocalInboundBucket, "AFTERPARTY_INBOUND_PREFIX="+inboundPrefix)
		return append(out, "AWS_ACCESS_KEY_ID="+fn, "AFTERPARTY_LINK_SECRET_ARN="+arn,
			"AFTERPARTY_CONFIGURATION_SET="+localstack.LocalConfigurationSets[0], "AFTERPARTY_BASE_URL=https://web.example")
	}
	run := func(fn string, event []byte) {
		t.Helper()
		f := lambdatest.Start(t, lambdatest.Build(t, fn), fnEnv(fn))
		if res := f.Call(t, event); res.FunctionError != "" {
			t.Fatalf("%s failed: %s", fn, res.FunctionError)
		}
		f.Stop()
	}

	// The scheduled functions, each at its time, with answers in between. The first
	// invitations run meets an SES account that is paused: the engine gives back
	// the claim it took (DeleteItem) and stops; the next run sends.
	stack.SESLayer.SetAccountError("SendingPausedException")
	paused := lambdatest.Start(t, lambdatest.Build(t, "invitations"), fnEnv("invitations"))
	if res := paused.Call(t, scheduledEvent(t, m.Start.AddDate(0, 0, -14))); res.FunctionError == "" {
		t.Fatal("an invitations run with SES sending paused reported no error")
	}
	paused.Stop()
	stack.SESLayer.SetAccountError("")
	run("invitations", scheduledEvent(t, m.Start.AddDate(0, 0, -14)))
	run("digest", scheduledEvent(t, m.Start.Add(-24*time.Hour)))

	// The web function: the meeting page, the feed, an RSVP page and its POST,
	// then a No that promotes the waitlisted member, a join.
	signer, err := setup.Signer(context.Background(), config.Config{LinkSecretARN: arn},
		aws.Config{Region: localstack.Region, Credentials: stack.AWSConfig().Credentials, BaseEndpoint: aws.String(stack.SecretsURL)})
	if err != nil {
		t.Fatal(err)
	}
	b := links.Builder{BaseURL: "https://web.example", Signer: signer}
	web := lambdatest.Start(t, lambdatest.Build(t, "web"), fnEnv("web"))
	get := func(path, query string) {
		t.Helper()
		ev := strings.ReplaceAll(string(fixture(t, "function-url-get.json")), "/m/MEETING_ID", path)
		ev = strings.Replace(ev, `"rawQueryString": ""`, `"rawQueryString": "`+query+`"`, 1)
		if res := web.Call(t, []byte(ev)); res.FunctionError != "" {
			t.Fatalf("GET %s: %s", path, res.FunctionError)
		}
	}
	post := func(link string, extra url.Values) {
		t.Helper()
		u, _ := url.Parse(link)
		form := url.Values{"t": {u.Query().Get("t")}}
		for k, v := range extra {
			form[k] = v
		}
		ev := strings.Replace(string(fixture(t, "function-url-post.json")), "BODY", base64.StdEncoding.EncodeToString([]byte(form.Encode())), 1)
		ev = strings.ReplaceAll(ev, `"/rsvp"`, `"`+u.Path+`"`)
		if res := web.Call(t, []byte(ev)); res.FunctionError != "" {
			t.Fatalf("POST %s: %s", u.Path, res.FunctionError)
		}
	}
	get("/m/"+m.ID, "")
	get("/calendar.ics", "")
	for _, who := range []string{"ada", "grace", "ken"} {
		l := cycle.MemberLinks(b, m, ms[who], time.Now())
		get(mustPath(t, l.Yes), mustQuery(t, l.Yes))
		post(l.Yes, url.Values{"answer": {"yes"}})
		get(mustPath(t, l.Calendar), mustQuery(t, l.Calendar))
		get(mustPath(t, l.Pub), mustQuery(t, l.Pub))
	}
	post(cycle.MemberLinks(b, m, ms["ada"], time.Now()).No, url.Values{"answer": {"no"}})
	web.Stop()

	// The replies function: ada says Yes from her calendar (the meeting is full:
	// she is waitlisted and told so by email), and ken writes back (forwarded to
	// the organizers through the send ledger).
	replies := lambdatest.Start(t, lambdatest.Build(t, "replies"), fnEnv("replies"))
	for _, r := range []struct{ file, who string }{{"google-accepted.eml", "ada"}, {"human.eml", "ken"}} {
		raw, to := replyMessage(t, r.file, signer, a.Email(r.who), m)
		if res := replies.Call(t, storeReceived(t, stack, raw, a.Email(r.who), to)); res.FunctionError != "" {
			t.Fatalf("replies, %s from %s: %s", r.file, r.who, res.FunctionError)
		}
	}
	replies.Stop()
	if r, err := a.Store.RSVP(context.Background(), m.ID, ms["ada"].ID); err != nil || r.Answer != group.Yes {
		t.Fatalf("ada's calendar Yes: %+v, %v", r, err)
	}

	// The outbox sends what the pages and the calendar answer recorded: grace's
	// promotion, ada's waitlisted notice. (Its stream-polling permissions are
	// SAM's AWSLambdaDynamoDBExecutionRole for the DynamoDB event, used by the
	// Lambda service, not the code: template.yaml's Policies do not hold them.)
	run("outbox", scheduledEvent(t, time.Now()))
	if got := a.Counts(t, "a place opened up"); got["grace"]+got["ken"] != 1 {
		t.Fatalf("the outbox run sent no promotion: %v", got)
	}

	run("reminders", scheduledEvent(t, m.Start.Add(-48*time.Hour)))
	run("teasers", scheduledEvent(t, m.Start.Add(-24*time.Hour)))
	run("pub", scheduledEvent(t, m.End.Add(time.Minute)))
	run("pub", scheduledEvent(t, group.DefaultLeadTimes.ConnectionsOpen(m).Add(time.Minute))) // connections and introductions
	run("feedback", sesEvent(t, "ses-bounce-permanent.json", a.Email("ken")))

	granted, err := iam.Granted(stack.TemplatePath())
	if err != nil {
		t.Fatal(err)
	}
	logical := map[string]string{
		"table/" + a.Config.ScheduleTable:                           "table/ScheduleTable",
		"table/" + a.Config.StateTable:                              "table/StateTable",
		"secret/" + arn:                                             "secret/LinkSecret",
		"identity/" + localstack.LocalIdentities[0]:                 "identity/${FromDomain}",
		"configuration-set/" + localstack.LocalConfigurationSets[0]: "configuration-set/ConfigurationSet",
		"bucket/" + localstack.LocalInboundBucket:                   "bucket/InboundBucket",
		"*": "*",
	}
	for fn, id := range functionIDs {
		var called []iam.Grant
		for _, c := range stack.Recorder.Calls(fn) {
			res, ok := logical[c.Resource]
			if !ok {
				t.Errorf("%s called %s on %s, a resource of no other test", fn, c.Action, c.Resource)
				continue
			}
			called = append(called, iam.Grant{Action: c.Action, Resource: res})
		}
		if len(called) == 0 {
			t.Errorf("%s made no call the layers saw: was it run with its own access key?", fn)
		}
		for _, c := range called {
			if !slices.Contains(granted[id], c) {
				t.Errorf("%s (%s) calls %s on %s, which template.yaml does not grant it", fn, id, c.Action, c.Resource)
			}
		}
		for _, g := range granted[id] {
			if !slices.Contains(called, g) && failurePaths[id+" "+g.Action+" "+g.Resource] == "" {
				t.Errorf("template.yaml grants %s %s on %s, which it never called in this cycle (remove it, or list the path that needs it in failurePaths)", id, g.Action, g.Resource)
			}
		}
	}
}

// failurePaths are grants this cycle does not use, each with the path that does.
var failurePaths = map[string]string{
	"RemindersFunction dynamodb:DeleteItem table/StateTable": "ReleaseClaim: a send stopped by SES (paused, throttled past retries) gives its claim back; the same engine as invitations, whose paused run above calls it",
	"TeasersFunction dynamodb:DeleteItem table/StateTable":   "ReleaseClaim, as for reminders",
	"PubFunction dynamodb:DeleteItem table/StateTable":       "ReleaseClaim, as for reminders",
	"DigestFunction dynamodb:DeleteItem table/StateTable":    "ReleaseClaim, as for reminders (the organizers' digest goes through the same ledger)",
	"TeasersFunction dynamodb:GetItem table/StateTable":      "reads the icebreaker a meeting was given when another run drew it first and the conditional put lost",
	"OutboxFunction dynamodb:PutItem table/StateTable":       "the capacity repair a recorded promotion that was never written triggers (a web server killed between the two): Reconcile creates a missing COUNT item and records the promotion's email; TestPromotionEmailSurvivesAKilledServer runs it",
	"RepliesFunction dynamodb:DeleteItem table/StateTable":   "ReleaseInbound: a message whose handling failed (schedule unreadable, SES refused the forward) gives its once-only claim back so that Lambda's retry handles it; and ReleaseClaim, as for reminders",
}

func mustPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func mustQuery(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery
}
