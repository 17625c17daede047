package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// smokeEnv is a CLI on fresh tables whose organizers have addresses unique to the
// test, sending with the local configuration set, and the app built from the same
// environment (the member pages, and the tables read back).
func smokeEnv(t *testing.T, organizers string) (cli, *setup.App) {
	t.Helper()
	c := newCLI(t)
	c.env = append(c.env, "AFTERPARTY_ORGANIZERS="+organizers, "AFTERPARTY_CONFIGURATION_SET=afterparty-local")
	vars := map[string]string{}
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	cfg, err := config.Load(func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	stack := localstack.Get(t)
	a, err := setup.FromConfig(context.Background(), cfg, stack.AWSConfig(),
		config.Endpoints{DynamoDB: stack.DynamoURL, SESv2: stack.SESURL}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return c, a
}

func testDomain() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "smoke" + hex.EncodeToString(b) + ".example"
}

var smokeMeetingRE = regexp.MustCompile(cycle.SmokePrefix + `[0-9a-f-]+`)

// smokeStepLine is the table line of a step, and whether it says result.
func smokeStepLine(t *testing.T, out, step, result string) {
	t.Helper()
	line := lineWith(out, step+"  ")
	if f := strings.Fields(strings.TrimPrefix(line, step)); len(f) == 0 || f[0] != result {
		t.Errorf("step %q should be %s:\n%s", step, result, out)
	}
}

// assertGone checks that nothing of the smoke meeting is left in either table.
func assertGone(t *testing.T, a *setup.App, meetingID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Store.ScheduleRow(ctx, meetingID); !errors.Is(err, dynamo.ErrNotFound) {
		t.Errorf("the schedule row %s is still there: %v", meetingID, err)
	}
	if n, err := a.Store.MeetingItems(ctx, meetingID); err != nil || n != 0 {
		t.Errorf("%d state items of %s left (%v)", n, meetingID, err)
	}
	if rows, err := a.Store.ScheduleRows(ctx); err != nil || len(rows) != 0 {
		t.Errorf("the schedule table should be empty again: %v %v", rows, err)
	}
}

// TestSmokePasses runs `afterparty smoke` against the local stack through the
// strict DynamoDB and SES layers, with the member pages served in-process: every
// function's email reaches the first organizer and no one else, SES accepted each,
// and the test data is gone afterwards.
func TestSmokePasses(t *testing.T) {
	domain := testDomain()
	c, a := smokeEnv(t, "Ada Organizer <ada@"+domain+">, bob@"+domain)
	ctx := context.Background()
	if _, err := a.Store.AddMember(ctx, group.Member{Email: "carol@" + domain, Name: "Carol", JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(a.Site.Handler())
	defer web.Close()
	c.env = append(c.env, "AFTERPARTY_BASE_URL="+web.URL)

	began := time.Now()
	out, errOut, ok := c.run(t, "smoke")
	if !ok {
		t.Fatalf("smoke failed:\n%s\n%s", out, errOut)
	}
	for _, step := range []string{"write the test meeting", "add the test member", "invitations", "answer Yes", "reminders", "teasers", "digest", "pub", "SES accepted every send", "web URL answers", "remove the test data"} {
		smokeStepLine(t, out, step, "PASS")
	}
	if !strings.Contains(out, "PASS: all 12 steps") || !strings.Contains(out, "6 of 6 accepted") {
		t.Errorf("the verdict:\n%s", out)
	}
	id := smokeMeetingRE.FindString(out)
	if id == "" {
		t.Fatalf("no meeting id in the output:\n%s", out)
	}

	stack := localstack.Get(t)
	var subjects []string
	for _, e := range stack.Emails(t, "ada@"+domain) {
		if !e.Time().Before(began.Truncate(time.Second)) {
			subjects = append(subjects, e.Subject)
		}
	}
	if len(subjects) != 6 {
		t.Fatalf("the organizer should get 6 emails (invitation, reminder, teaser, digest, pub, connections), got %d: %q", len(subjects), subjects)
	}
	for _, s := range subjects {
		if !strings.Contains(strings.ToLower(s), "smoke test") {
			t.Errorf("an email that does not name the smoke test: %q", s)
		}
	}
	for _, other := range []string{"bob@" + domain, "carol@" + domain} {
		if got := stack.Emails(t, other); len(got) != 0 {
			t.Errorf("%s is not the test address and got %d emails", other, len(got))
		}
	}

	assertGone(t, a, id)
	if _, err := a.Store.Member(ctx, group.MemberID("ada@"+domain)); !errors.Is(err, dynamo.ErrNotFound) {
		t.Errorf("the test member is still there: %v", err)
	}
	if _, err := a.Store.Member(ctx, group.MemberID("carol@"+domain)); err != nil {
		t.Errorf("a real member was touched: %v", err)
	}
}

// TestSmokeFailsWhenTheWebDoesNotAnswer: with no member pages at the URL the web
// step fails with the URL named, the command exits non-zero, and the test data is
// removed all the same; an organizer who was a member already stays one.
func TestSmokeFailsWhenTheWebDoesNotAnswer(t *testing.T) {
	domain := testDomain()
	c, a := smokeEnv(t, "ada@"+domain+", Bob <bob@"+domain+">")
	ctx := context.Background()
	if _, err := a.Store.AddMember(ctx, group.Member{Email: "bob@" + domain, Name: "Bob", JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing answers there

	out, errOut, ok := c.run(t, "smoke", "--to", "BOB@"+domain, "--web-url", closed)
	if ok {
		t.Fatalf("smoke passed with no web server:\n%s", out)
	}
	smokeStepLine(t, out, "web URL answers", "FAIL")
	if line := lineWith(out, "web URL answers"); !strings.Contains(line, closed+"/m/") || !strings.Contains(line, "did not answer") {
		t.Errorf("the web step should name the URL that did not answer: %s", line)
	}
	for _, step := range []string{"invitations", "pub", "SES accepted every send", "remove the test data"} {
		smokeStepLine(t, out, step, "PASS")
	}
	if !strings.Contains(out, "FAIL: 1 of 12 steps failed") || !strings.Contains(errOut, "smoke test failed: web URL answers") {
		t.Errorf("the verdict: %s\n%s", out, errOut)
	}
	if got := localstack.Get(t).Emails(t, "bob@"+domain); len(got) != 6 {
		t.Errorf("--to bob: bob should get the 6 emails, got %d", len(got))
	}
	if got := localstack.Get(t).Emails(t, "ada@"+domain); len(got) != 0 {
		t.Errorf("ada is not --to and got %d emails", len(got))
	}
	assertGone(t, a, smokeMeetingRE.FindString(out))
	if m, err := a.Store.Member(ctx, group.MemberID("bob@"+domain)); err != nil || m.Name != "Bob" {
		t.Errorf("bob was a member before the smoke test and must stay one: %+v %v", m, err)
	}
}

// TestSmokeRefusesAnAddressThatIsNotAnOrganizer: the test emails organizers only.
func TestSmokeRefusesAnAddressThatIsNotAnOrganizer(t *testing.T) {
	domain := testDomain()
	c, a := smokeEnv(t, "ada@"+domain)
	_, errOut, ok := c.run(t, "smoke", "--to", "mallory@"+domain)
	if ok || !strings.Contains(errOut, "is not an organizer address") {
		t.Fatalf("smoke --to a non-organizer: %s", errOut)
	}
	if rows, err := a.Store.ScheduleRows(context.Background()); err != nil || len(rows) != 0 {
		t.Errorf("a refused smoke test wrote %v (%v)", rows, err)
	}
	if got := localstack.Get(t).Emails(t, "mallory@"+domain); len(got) != 0 {
		t.Errorf("mallory got %d emails", len(got))
	}
}

// TestSmokeFailsWhenSESRejects: in SES's sandbox an unverified organizer address
// is refused, so the function steps and the SES check fail, the command exits
// non-zero, and the test data is removed all the same.
func TestSmokeFailsWhenSESRejects(t *testing.T) {
	domain := testDomain()
	c, a := smokeEnv(t, "ada@"+domain)
	web := httptest.NewServer(a.Site.Handler())
	defer web.Close()
	stack := localstack.Get(t)
	strictSES(t, stack, "sandbox?on=1")
	t.Cleanup(func() { strictSES(t, stack, "sandbox?on=0") })

	out, errOut, ok := c.run(t, "smoke", "--web-url", web.URL)
	if ok {
		t.Fatalf("smoke passed while SES refused every send:\n%s", out)
	}
	for _, step := range []string{"invitations", "reminders", "teasers", "digest", "pub", "connections", "SES accepted every send"} {
		smokeStepLine(t, out, step, "FAIL")
	}
	if line := lineWith(out, "SES accepted every send"); !strings.Contains(line, "0 of 6 sends accepted: invitation: not sent; reminder: not sent") {
		t.Errorf("the SES step should say what SES refused: %s\n%s", line, out)
	}
	if line := lineWith(out, "invitations"); !strings.Contains(line, "sent 0, failed 0, pending 1: ") || !strings.Contains(line, "SES did not accept it") {
		t.Errorf("the invitations step should say SES did not accept it: %s", line)
	}
	for _, step := range []string{"web URL answers", "remove the test data"} {
		smokeStepLine(t, out, step, "PASS")
	}
	if !strings.Contains(errOut, "smoke test failed: invitations, reminders, teasers, digest, pub, connections, SES accepted every send") {
		t.Errorf("the verdict: %s", errOut)
	}
	assertGone(t, a, smokeMeetingRE.FindString(out))
}

// strictSES switches the strict SES layer (infra/strict): e.g. "sandbox?on=1".
func strictSES(t *testing.T, stack *localstack.Stack, what string) {
	t.Helper()
	resp, err := http.Post(stack.SESURL+"/_strict/ses/"+what, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("strict SES %s: %s", what, resp.Status)
	}
}
