package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/dynamo"
)

// TestRunRetryFailed: members SES rejected are listed with why (dry run changes
// nothing), then made due again and sent through the same ledger; nobody else
// gets a second email.
func TestRunRetryFailed(t *testing.T) {
	ctx := context.Background()
	stack := localstack.Get(t)
	schedule, state := stack.NewTables(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "afterparty")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), stack.Env(schedule, state)...)
	c := cli{bin: bin, env: append(env, "AFTERPARTY_TIME_ZONE=Europe/London", "AFTERPARTY_LINK_SECRET=cli-test-secret-cli-test-secret"), dir: dir}
	store := dynamo.New(stack.Dynamo(), schedule, state)

	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", goodSchedule))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nrita@retry.example,Rita Retry\nok@retry.example,Oscar\n"))
	members, _, err := store.MembersPage(ctx, "", 10)
	if err != nil || len(members) != 2 {
		t.Fatalf("members: %v %v", members, err)
	}
	var rita, oscar string
	for _, m := range members {
		if m.Name == "Rita Retry" {
			rita = m.ID
		} else {
			oscar = m.ID
		}
	}
	campaign := dynamo.CampaignID("2031-05-08", "invitation")
	reason := "rejected by SES\noperation error SESv2: SendEmail, MessageRejected: Email address is not verified."
	if err := store.MarkFailed(ctx, campaign, rita, "test-claim", reason, time.Date(2031, 4, 24, 17, 31, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	const at = "2031-04-24T18:30:00+01:00"
	if out := mustRun(t, c, "run", "invitations", "--at", at); strings.Fields(lineWith(out, "2031-05-08"))[1] != "1" {
		t.Fatalf("only Oscar is sent to; Rita failed before: %s", out)
	}

	out := mustRun(t, c, "run", "invitations", "--at", at, "--retry-failed", "--dry-run")
	row := lineContaining(out, rita)
	for _, want := range []string{"2031-05-08", "Rita Retry", "rita@retry.example", "2031-04-24 18:31 BST", "rejected by SES operation error SESv2: SendEmail, MessageRejected: Email address is not verified."} {
		if !strings.Contains(row, want) {
			t.Errorf("dry run's row for Rita lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "dry run") || strings.Contains(out, oscar) {
		t.Fatalf("dry run output:\n%s", out)
	}
	if recs, _ := store.SendRecords(ctx, campaign, []string{rita}); recs[rita].State != dynamo.SendFailed {
		t.Fatalf("a dry run changed Rita's entry: %+v", recs[rita])
	}

	out = mustRun(t, c, "run", "invitations", "--at", at, "--retry-failed")
	_, report, _ := strings.Cut(out, "invitation at ")
	if !strings.Contains(lineContaining(out, rita), "Email address is not verified") || strings.Fields(lineWith(report, "2031-05-08"))[1] != "1" {
		t.Fatalf("retry should list Rita and send 1:\n%s", out)
	}
	recs, err := store.SendRecords(ctx, campaign, []string{rita, oscar})
	if err != nil || recs[rita].State != dynamo.SendSent || recs[oscar].State != dynamo.SendSent {
		t.Fatalf("after the retry: %+v %v", recs, err)
	}
	if out = mustRun(t, c, "run", "invitations", "--at", at, "--retry-failed"); !strings.Contains(out, "no failed invitation to retry") {
		t.Fatalf("nothing is left to retry:\n%s", out)
	}
	if _, errOut, ok := c.run(t, "run", "invitations", "--dry-run"); ok || !strings.Contains(errOut, "--retry-failed") {
		t.Fatalf("--dry-run alone must be refused: %s", errOut)
	}
}
