package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

// cli builds the real binary once and runs it against the stack with env.
type cli struct {
	bin string
	env []string
	dir string
	// store is the tables the binary uses, for a test to set up what no command does.
	store *dynamo.Store
}

func newCLI(t *testing.T) cli {
	t.Helper()
	stack := localstack.Get(t)
	schedule, state := stack.NewTables(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "afterparty")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), stack.Env(schedule, state)...)
	env = append(env, "AFTERPARTY_TIME_ZONE=Europe/London", "AFTERPARTY_LINK_SECRET=cli-test-secret-cli-test-secret")
	return cli{bin: bin, env: env, dir: dir, store: dynamo.New(stack.Dynamo(), schedule, state)}
}

func (c cli) run(t *testing.T, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			t.Fatalf("afterparty %v: %v", args, err)
		}
	}
	return o.String(), e.String(), err == nil
}

// app is the application the CLI builds from c.env, for a test to record what only
// members' clicks make (answers, places).
func (c cli) app(t *testing.T) *setup.App {
	t.Helper()
	for _, kv := range c.env[len(os.Environ()):] {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // the SDK reads the process environment
	}
	a, err := setup.New(context.Background(), nil, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (c cli) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodSchedule = `meetings:
  - meeting_id: 2031-05-08
    title: "Postgres, Go & the pub"
    starts_at: 2031-05-08T18:30
    duration_minutes: 150
    venue: The Hall
    venue_address: 1 Main St
    speaker: Rob
    speaker_intro: Rob keeps bees.
    pub_name: The Crown
    pub_address: 2 High St
    capacity: 40
`

func TestScheduleValidateNamesEveryProblem(t *testing.T) {
	c := newCLI(t)
	bad := c.file(t, "bad.yaml", `meetings:
  - meeting_id: jan
    starts_at: tomorrow evening
    capacity: -3
    time_zone: Mars/Base
  - meeting_id: feb
    title: ok
    starts_at: 2031-02-10T18:30
    ends_at: 2031-02-10T17:00
    pub_address: 1 Pub Lane
  - meeting_id: feb
    title: twice
    starts_at: 2031-02-11T18:30
  - meeting_id: typo
    title: Some day
    starts_at: 9999-12-30T18:00
    venue: The Hall
  - meeting_id: mar
    title: "two\nlines"
    starts_at: 2031-03-11T18:30
    venue: "<b>Hall</b>"
  - meeting_id: apr
    title: "<i>Go</i>"
    starts_at: 2031-04-11T18:30
    venue: The Hall
`)
	_, stderr, ok := c.run(t, "schedule", "validate", bad)
	if ok {
		t.Fatal("validate accepted a bad schedule")
	}
	for _, want := range []string{"jan: title: is required", "jan: starts_at:", "jan: capacity:", "jan: time_zone:", "feb: ends_at:", "feb: pub_name:", "feb: meeting_id: is used by more than one", "typo: starts_at: 9999-12-30T18:00 GMT is more than 5 years ahead"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
	// One problem per cause: a title refused for its line break or HTML is not
	// also "required".
	for _, want := range []string{"mar: title: contains a line break", "mar: venue: contains HTML", "apr: title: contains HTML"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
	for _, notWanted := range []string{"mar: title: is required", "mar: venue: is required", "apr: title: is required"} {
		if strings.Contains(stderr, notWanted) {
			t.Errorf("validate reports %q next to the real problem:\n%s", notWanted, stderr)
		}
	}
	// apply refuses the same file and writes nothing.
	if _, _, ok := c.run(t, "schedule", "apply", bad); ok {
		t.Fatal("apply accepted a bad schedule")
	}
	out, _, _ := c.run(t, "schedule", "list")
	if strings.Contains(out, "jan") || strings.Contains(out, "feb") {
		t.Fatalf("apply of a bad file wrote rows:\n%s", out)
	}
}

func TestCLIEndToEnd(t *testing.T) {
	c := newCLI(t)
	sched := c.file(t, "schedule.yaml", goodSchedule)
	if out, errOut, ok := c.run(t, "schedule", "validate", sched); !ok || !strings.Contains(out, "no problems") {
		t.Fatalf("validate: %s %s", out, errOut)
	}
	out, errOut, ok := c.run(t, "schedule", "apply", sched)
	if !ok || !strings.Contains(out, "1 created") {
		t.Fatalf("apply: %s %s", out, errOut)
	}
	if out, _, _ = c.run(t, "schedule", "apply", sched); !strings.Contains(out, "1 unchanged") {
		t.Fatalf("second apply should change nothing: %s", out)
	}
	if out, _, _ = c.run(t, "schedule", "list"); !strings.Contains(out, "2031-05-08") || !strings.Contains(out, "Thu 2031-05-08 18:30 BST") {
		t.Fatalf("list: %s", out)
	}

	members := c.file(t, "members.csv", "email,name\nAda@CLI.example,Ada\nbroken\"line,x\ngrace@cli.example,Grace\nada@cli.example,Ada dup\n")
	out, errOut, ok = c.run(t, "members", "import", members)
	if ok {
		t.Fatal("import with a broken line must exit non-zero")
	}
	if !strings.Contains(out, "2 added") || !strings.Contains(errOut, "members.csv:3:") || !strings.Contains(errOut, "members.csv:5:") {
		t.Fatalf("import: out %q err %q", out, errOut)
	}
	if out, _, _ = c.run(t, "members", "import", members); !strings.Contains(out, "0 added, 2 already members") {
		t.Fatalf("re-import must add no one: %s", out)
	}

	out, errOut, ok = c.run(t, "run", "invitations", "--at", "2031-04-24T18:30:00+01:00")
	if !ok || !strings.Contains(out, "2031-05-08") {
		t.Fatalf("run invitations: %s %s", out, errOut)
	}
	if fields := strings.Fields(lineWith(out, "2031-05-08")); len(fields) < 2 || fields[1] != "2" {
		t.Fatalf("run invitations should send 2: %s", out)
	}
	if out, _, _ = c.run(t, "run", "invitations", "--at", "2031-04-25T18:30:00+01:00"); strings.Fields(lineWith(out, "2031-05-08"))[1] != "0" {
		t.Fatalf("second run must send 0: %s", out)
	}
	if _, errOut, ok = c.run(t, "run", "suppers"); ok || !strings.Contains(errOut, "invalid argument") {
		t.Fatalf("unknown function: %s", errOut)
	}

	out, _, ok = c.run(t, "rsvps", "2031-05-08", "--csv")
	if !ok {
		t.Fatal("rsvps failed")
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "email" || recs[1][2] != "no answer" {
		t.Fatalf("rsvps --csv: %v %q", err, out)
	}

	out, _, _ = c.run(t, "env")
	for _, want := range []string{"export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000", "export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:8005", "export AFTERPARTY_BASE_URL=http://127.0.0.1:8080"} {
		if !strings.Contains(out, want) {
			t.Errorf("env lacks %q", want)
		}
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, s) {
			return l
		}
	}
	return ""
}

// TestRSVPsGuestsAreThePlacesHeld proves rsvps shows the guests a member holds
// places for, not the ones that did not fit, in the table and the CSV alike, so
// the rows add up to the totals.
func TestRSVPsGuestsAreThePlacesHeld(t *testing.T) {
	c := newCLI(t)
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", `meetings:
  - meeting_id: 2031-05-08
    title: Small room
    starts_at: 2031-05-08T18:30
    venue: The Hall
    capacity: 3
    guests_max: 2
`))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nada@guests.example,Ada\ngrace@guests.example,Grace\n"))
	a := c.app(t)
	ctx, now := context.Background(), time.Date(2031, 4, 30, 12, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		who    string
		guests int
	}{{"ada@guests.example", 0}, {"grace@guests.example", 1}, {"grace@guests.example", 2}} {
		if _, err := a.Store.Answer(ctx, "2031-05-08", group.MemberID(step.who), group.Yes, step.guests, 3, group.SourceLink, now); err != nil {
			t.Fatal(err)
		}
	}
	out := mustRun(t, c, "rsvps", "2031-05-08", "--csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		if r[0] == "grace@guests.example" && (r[3] != "going" || r[4] != "1") {
			t.Errorf("grace holds 2 places (1 guest; the 2nd did not fit), csv row %v", r)
		}
	}
	table := mustRun(t, c, "rsvps", "2031-05-08")
	if l := lineContaining(table, "grace@guests.example"); !strings.Contains(l, "going  1 ") {
		t.Errorf("table row %q", l)
	}
	if !strings.Contains(table, "places taken 3 (incl. 1 guests)") {
		t.Errorf("totals:\n%s", table)
	}
}

// TestEnvFollowsTheLocalPorts proves `afterparty env` points at the ports
// infra/stack.sh was started on (AFTERPARTY_LOCAL_*_PORT), and refuses a port
// that is not one.
func TestEnvFollowsTheLocalPorts(t *testing.T) {
	c := newCLI(t)
	c.env = append(c.env, "AFTERPARTY_LOCAL_DYNAMODB_PORT=18000", "AFTERPARTY_LOCAL_SES_PORT=18005")
	out := mustRun(t, c, "env")
	for _, want := range []string{"export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:18000\n", "export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:18005\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("env lacks %q:\n%s", want, out)
		}
	}
	c.env = append(c.env, "AFTERPARTY_LOCAL_SES_PORT=ses")
	if _, errOut, ok := c.run(t, "env"); ok || !strings.Contains(errOut, "AFTERPARTY_LOCAL_SES_PORT") {
		t.Errorf("a port that is not a number: ok=%v %s", ok, errOut)
	}
}

// TestNoSDKBodyWarnings proves a command prints no "failed to discard remaining
// HTTP response body" warnings from the SDK: an answer whose connection closes
// after its JSON (as when SES or DynamoDB drop it) is already fully handled.
func TestNoSDKBodyWarnings(t *testing.T) {
	c := newCLI(t)
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		// A complete JSON answer, then the connection closes before the promised length.
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 100\r\n\r\n{\"Items\":[],\"Count\":0}")
		buf.Flush()
	}))
	defer short.Close()
	c.env = append(c.env, "AWS_ENDPOINT_URL_DYNAMODB="+short.URL)
	_, errOut, _ := c.run(t, "schedule", "list")
	if strings.Contains(errOut, "failed to discard") {
		t.Errorf("the SDK's body warning reached stderr:\n%s", errOut)
	}
}
