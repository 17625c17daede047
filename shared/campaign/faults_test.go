package campaign_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/faultproxy"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

var ctx = context.Background()

const secret = "fault-test-secret-fault-test-secret"

// testLease is the claim lease of these tests: short, so a killed run's claims
// expire quickly, yet long enough that an SES call's client timeout (a quarter of
// the lease, 3 s) is not hit by the emulators on a loaded machine. A timed-out
// call is an answer lost: SES may have taken it, and the retry is a second copy.
// (With 1 s and 8 s leases, calls timed out at 250 ms and 2 s here, and members got
// two copies.)
const testLease = 12 * time.Second

// rig is an app whose DynamoDB and SES traffic goes through fault proxies.
type rig struct {
	*apptest.App
	ddb, ses *faultproxy.Proxy
	meeting  group.Meeting
	at       time.Time // when invitations are due
	members  int
}

func newRig(t *testing.T, members int, sesOpt faultproxy.Options, env map[string]string) *rig {
	t.Helper()
	stack := localstack.Get(t)
	ddb, err := faultproxy.Start(faultproxy.DynamoDB, stack.DynamoURL, faultproxy.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ddb.Close)
	sesOpt.Seed = 2
	if sesOpt.MaxSendRate == 0 {
		sesOpt.MaxSendRate = 2000 // the emulator's account says 14/s; these tests are about faults, not pace
	}
	ses, err := faultproxy.Start(faultproxy.SES, stack.SESURL, sesOpt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ses.Close)
	vars := map[string]string{"AFTERPARTY_LINK_SECRET": secret, "AFTERPARTY_CLAIM_LEASE": testLease.String()}
	for k, v := range env {
		vars[k] = v
	}
	a := apptest.NewVia(t, vars, config.Endpoints{DynamoDB: ddb.URL, SESv2: ses.URL})
	a.AddManyMembers(t, members)
	m := a.PutMeeting(t, map[string]string{"meeting_id": "faults", "title": "Faults & retries", "starts_at": "2031-03-13T18:30", "venue": "Hall"})
	return &rig{App: a, ddb: ddb, ses: ses, meeting: m, at: m.Start.AddDate(0, 0, -14), members: members}
}

// copies counts the invitations each member of this rig holds in the SES emulator.
func (r *rig) copies(t *testing.T) (missing []string, dup map[string]int) {
	t.Helper()
	got := r.Counts(t, "invited")
	dup = map[string]int{}
	for i := range r.members {
		k := fmt.Sprintf("m%04d", i)
		switch n := got[k]; {
		case n == 0:
			missing = append(missing, k)
		case n > 1:
			dup[k] = n
		}
	}
	return missing, dup
}

// runUntilFinished runs invitations until a run finishes its sweep (bounded).
func (r *rig) runUntilFinished(t *testing.T) int {
	t.Helper()
	for run := 1; run <= 20; run++ {
		rep, err := r.Runner.Run(ctx, group.Invitation, r.at)
		if err != nil {
			t.Logf("run %d: %v", run, err)
		}
		for _, m := range rep.Meetings {
			if m.MeetingID == r.meeting.ID && m.Result.Finished {
				return run
			}
		}
		time.Sleep(1100 * time.Millisecond) // let claims of failed sends expire
	}
	t.Fatal("invitations did not finish in 20 runs")
	return 0
}

func TestFaultsEveryMemberExactlyOnce(t *testing.T) {
	r := newRig(t, 300, faultproxy.Options{}, nil)
	r.ses.SetFaults(faultproxy.Faults{Throttle: 0.15, ServerError: 0.1, Drop: 0.05, Slow: 0.1, Delay: 30 * time.Millisecond})
	r.ddb.SetFaults(faultproxy.Faults{Throttle: 0.05, ServerError: 0.05})
	runs := r.runUntilFinished(t)
	missing, dup := r.copies(t)
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("missing %v, duplicates %v", missing, dup)
	}
	s, d := r.ses.Stats(), r.ddb.Stats()
	if s.Injected["throttle"] == 0 || s.Injected["5xx"] == 0 || s.Injected["drop"] == 0 || d.Injected["throttle"] == 0 || d.Injected["5xx"] == 0 {
		t.Fatalf("faults were not exercised: SES %v, DynamoDB %v", s.Injected, d.Injected)
	}
	t.Logf("%d members, %d runs; SES faults %v; DynamoDB faults %v", r.members, runs, s.Injected, d.Injected)
}

// A lost answer after SES accepted the email is the one case where a member can
// get a second copy: the SDK and the engine retry a send whose outcome they cannot
// know. The test shows the bound: at most one extra copy per lost answer.
func TestLostAnswersBoundDuplicates(t *testing.T) {
	r := newRig(t, 200, faultproxy.Options{}, nil)
	r.ses.SetFaults(faultproxy.Faults{DropAfter: 0.05, Only: []string{"SendEmail"}})
	r.runUntilFinished(t)
	missing, dup := r.copies(t)
	extra := 0
	for _, n := range dup {
		extra += n - 1
	}
	lost := r.ses.Stats().Injected["drop-after"]
	if len(missing) > 0 || int64(extra) > lost {
		t.Fatalf("missing %v; %d extra copies for %d lost answers", missing, extra, lost)
	}
	t.Logf("%d answers lost after SES accepted; %d extra copies (bound: one per lost answer)", lost, extra)
}

func TestDeadlineStopsAndNextRunResumes(t *testing.T) {
	r := newRig(t, 500, faultproxy.Options{}, nil)
	// Every send takes 200 ms, so 16 workers send at most 80 a second: the run
	// cannot finish 500 before its deadline. The margin is wide enough that a
	// slow start on a busy machine still leaves the run time to stop by itself.
	r.ses.SetFaults(faultproxy.Faults{Slow: 1, Delay: 200 * time.Millisecond})
	r.Runner.Margin = 1500 * time.Millisecond
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rep, err := r.Runner.Run(dctx, group.Invitation, r.at)
	if err != nil {
		t.Fatal(err)
	}
	first := rep.Meetings[0].Result
	if first.Finished || !strings.Contains(first.Stopped, "deadline") || first.Sent == 0 || first.Sent >= r.members {
		t.Fatalf("first run should stop before its deadline part-way: %+v", first)
	}
	// Pages of campaign.BatchSize are sent one after the other: once one is fully
	// confirmed, the stop must leave a checkpoint after it.
	c, err := r.Store.Campaign(ctx, r.meeting.ID, string(group.Invitation))
	if err != nil || (first.Sent >= campaign.BatchSize && c.Cursor == "") {
		t.Fatalf("no checkpoint after the stop with %d sent: %+v %v", first.Sent, c, err)
	}
	r.ses.SetFaults(faultproxy.Faults{})
	r.runUntilFinished(t)
	missing, dup := r.copies(t)
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("after resuming: missing %v, duplicates %v", missing, dup)
	}
	t.Logf("first run sent %d of %d before its deadline; the next resumed from the checkpoint", first.Sent, r.members)
}

// cliBinary builds the organizers' CLI, whose `run` goes through the same code as
// the Lambda, to run campaigns as separate processes.
func cliBinary(t *testing.T) string {
	t.Helper()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "afterparty")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/afterparty")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build CLI: %v\n%s", err, out)
	}
	return bin
}

func (r *rig) runProcess(bin string) *exec.Cmd {
	cmd := exec.Command(bin, "run", "invitations", "--at", r.at.Format(time.RFC3339))
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL_DYNAMODB="+r.ddb.URL, "AWS_ENDPOINT_URL_SESV2="+r.ses.URL,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AFTERPARTY_SCHEDULE_TABLE="+r.Config.ScheduleTable, "AFTERPARTY_STATE_TABLE="+r.Config.StateTable,
		"AFTERPARTY_LINK_SECRET="+secret, "AFTERPARTY_CLAIM_LEASE="+testLease.String())
	return cmd
}

func TestKilledMidSendThenRunAgain(t *testing.T) {
	bin := cliBinary(t)
	r := newRig(t, 400, faultproxy.Options{}, nil)
	r.ses.SetFaults(faultproxy.Faults{Slow: 1, Delay: 20 * time.Millisecond})
	cmd := r.runProcess(bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for sent := 0; sent < 120; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the campaign did not get going")
		}
		time.Sleep(20 * time.Millisecond)
		sent = 0
		for _, n := range r.ses.Stats().Sends {
			sent += int(n)
		}
	}
	cmd.Process.Kill() // SIGKILL: no cleanup, claims left behind
	cmd.Wait()
	stale := 0
	after := ""
	for {
		recs, next, err := r.Store.LedgerPage(ctx, dynamo.CampaignID(r.meeting.ID, string(group.Invitation)), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if rec.State == dynamo.SendClaimed {
				stale++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	r.ses.SetFaults(faultproxy.Faults{})
	time.Sleep(testLease + 100*time.Millisecond) // the claims of the killed process expire
	r.runUntilFinished(t)
	missing, dup := r.copies(t)
	extra := 0
	for _, n := range dup {
		extra += n - 1
	}
	if len(missing) > 0 || extra > stale {
		t.Fatalf("missing %v; %d extra copies, bound %d (claims the killed process left)", missing, extra, stale)
	}
	t.Logf("killed mid-send with %d claims in flight; %d extra copies after the rerun (bound %d); no one skipped", stale, extra, stale)
}

func TestTwoProcessesAtOnce(t *testing.T) {
	bin := cliBinary(t)
	r := newRig(t, 300, faultproxy.Options{}, nil)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.runProcess(bin).CombinedOutput()
			outs[i] = string(out)
			if err != nil {
				t.Errorf("process %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	r.runUntilFinished(t)
	missing, dup := r.copies(t)
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("missing %v, duplicates %v\n%s\n%s", missing, dup, outs[0], outs[1])
	}
}
