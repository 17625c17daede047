package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// fakeSES answers GetAccount, and SendEmail as its mode says: "hang" sends the first
// email and never answers the rest, "reject" and "paused" answer every email with
// that SES error, its message on two lines.
type fakeSES struct {
	mu    sync.Mutex
	mode  string
	sends atomic.Int32
	stop  chan struct{} // closed at the end: hanging answers return
}

func (f *fakeSES) setMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2/email/account") {
		fmt.Fprint(w, `{"SendingEnabled":true,"ProductionAccessEnabled":true,"SendQuota":{"MaxSendRate":100,"Max24HourSend":100000,"SentLast24Hours":0}}`)
		return
	}
	io.Copy(io.Discard, r.Body) // read it all, so the server notices a client that went away
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case "hang":
		if f.sends.Add(1) > 1 {
			select {
			case <-r.Context().Done():
			case <-f.stop:
			}
			return
		}
		fmt.Fprint(w, `{"MessageId":"fake-1"}`)
	case "reject":
		w.Header().Set("X-Amzn-ErrorType", "MessageRejected")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"Illegal address.\nThe following addresses failed the check"}`)
	default:
		w.Header().Set("X-Amzn-ErrorType", "SendingPausedException")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"Sending is paused\nfor this account"}`)
	}
}

// TestStatusTellsUnfinishedCampaigns proves `status` shows a run killed before its
// first checkpoint as not finished (not "swept to the end"), a run SES stopped as
// stopped with its error, and every error on one line.
func TestStatusTellsUnfinishedCampaigns(t *testing.T) {
	c := newCLI(t)
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", futureSchedule+`  - meeting_id: 2031-07-10
    title: Paused
    starts_at: 2031-07-10T18:30
    venue: The Hall
`))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nada@status.example,Ada\ngrace@status.example,Grace\n"))
	ses := &fakeSES{mode: "hang", stop: make(chan struct{})}
	srv := httptest.NewServer(ses)
	defer srv.Close()
	defer close(ses.stop)
	c.env = append(c.env, "AWS_ENDPOINT_URL_SESV2="+srv.URL)

	// A run killed while one email hangs: one sent, no checkpoint saved.
	run := exec.Command(c.bin, "run", "invitations", "--at", "2031-04-24T18:30:00+01:00")
	run.Env = c.env
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(lineContaining(mustRun(t, c, "status"), "2031-05-08  invitation"), "invitation  1 ") {
		if time.Now().After(deadline) {
			run.Process.Kill()
			t.Fatal("the run never sent its first email")
		}
		time.Sleep(200 * time.Millisecond)
	}
	run.Process.Kill()
	run.Wait()

	ses.setMode("reject")
	mustRun(t, c, "run", "invitations", "--at", "2031-05-29T18:30:00+01:00")
	ses.setMode("paused")
	c.run(t, "run", "invitations", "--at", "2031-06-26T18:30:00+01:00")

	status := mustRun(t, c, "status")
	if l := lineContaining(status, "2031-05-08  invitation"); strings.Contains(l, "swept to the end") || !strings.Contains(l, "not finished") {
		t.Errorf("killed run: %q\n%s", l, status)
	}
	if l := lineContaining(status, "2031-07-10  invitation"); strings.Contains(l, "swept to the end") || !strings.Contains(l, "stopped: ") || !strings.Contains(l, "paused for this account") {
		t.Errorf("run SES paused: %q\n%s", l, status)
	}
	if l := lineContaining(status, "2031-06-12  invitation"); !strings.Contains(l, "swept to the end") || !strings.Contains(l, "  2  ") {
		t.Errorf("run whose addresses were all rejected: %q\n%s", l, status)
	}
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "The following") || strings.HasPrefix(l, "for this account") || strings.HasPrefix(l, "operation error") {
			t.Errorf("an error's line break broke the output at %q:\n%s", l, status)
		}
	}
	if !strings.Contains(status, "Illegal address. The following addresses failed the check") {
		t.Errorf("the rejection is not shown on one line:\n%s", status)
	}
}

// TestStatusSumsTheOutbox proves `status` says how many emails the outbox holds
// unsent, and after `run outbox` shows them as one row per kind, not one row per
// email.
func TestStatusSumsTheOutbox(t *testing.T) {
	c := newCLI(t)
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", futureSchedule))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nada@outbox.example,Ada\ngrace@outbox.example,Grace\n"))
	now := time.Now()
	for _, email := range []string{"ada@outbox.example", "grace@outbox.example"} {
		in := group.NewIntent(group.IntentWelcome, "", group.MemberID(email), group.IntentTime(now), now)
		if ok, err := c.store.RecordIntent(context.Background(), in); err != nil || !ok {
			t.Fatalf("record the welcome: %v, %v", ok, err)
		}
	}
	if out := mustRun(t, c, "status"); !strings.Contains(out, "outbox: 2 emails recorded and not sent yet") {
		t.Fatalf("status does not tell the outbox's 2 emails:\n%s", out)
	}
	mustRun(t, c, "run", "outbox")
	out := mustRun(t, c, "status")
	if strings.Contains(out, "outbox:") || strings.Count(out, "notices: welcome") != 1 {
		t.Fatalf("status after the sweep: want one notices row and no outbox line:\n%s", out)
	}
	var row []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "notices: welcome") {
			row = strings.Fields(line)
		}
	}
	// MEETING MESSAGE(2 words) SENT PENDING FAILED ...
	if len(row) < 6 || row[0] != "notice" || row[3] != "2" || row[4] != "0" || row[5] != "0" || !strings.Contains(out, "2 emails") {
		t.Fatalf("the welcome row: %v\n%s", row, out)
	}
}
