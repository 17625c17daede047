package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
)

// promoteExpr is how the COUNT write that promotes the head of the waitlist
// begins (dynamo.Store.promote): the write the mid-promotion variant hangs.
const promoteExpr = "REMOVE queue.#m SET seats.#m"

// hangingDynamo forwards to the local stack's DynamoDB, except the promoting COUNT
// write, which it holds (never forwarded) and reports on hung.
func hangingDynamo(t *testing.T, target string) (string, <-chan struct{}) {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	hung := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), promoteExpr) {
			select {
			case hung <- struct{}{}:
			default:
			}
			<-r.Context().Done() // the server is killed while it waits
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hung
}

// TestPromotionEmailSurvivesAKilledServer: a real `afterparty serve` process (the
// built binary, its in-process outbox sweep off) against the local stack; a
// meeting with one place, ada going and bob waitlisted. ada POSTs No, which frees
// the place and promotes bob, and the server is killed with SIGKILL:
//   - "after the response": killed as soon as the page answered. The outbox
//     bootstrap under the Lambda RIE, woken by the stream's record of the new
//     outbox item and then by its schedule, sends bob exactly one "a place opened
//     up" email.
//   - "mid-promotion": the promoting COUNT write hangs and the server is killed
//     while it hangs (the promotion intent is recorded, the promotion is not). The
//     outbox's first sweep finds bob still queued under a recorded promotion,
//     repairs the meeting's places (Reconcile promotes him) and sends exactly one;
//     a second sweep sends nothing more. No invitations run is needed: the email
//     goes within the outbox's minute.
func TestPromotionEmailSurvivesAKilledServer(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "afterparty")
	build := exec.Command("go", "build", "-o", bin, "../cmd/afterparty")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build afterparty: %v\n%s", err, out)
	}
	outbox := lambdatest.Build(t, "outbox")
	for _, midPromotion := range []bool{false, true} {
		name := map[bool]string{false: "after the response", true: "mid-promotion"}[midPromotion]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret})
			ms := a.AddMembers(t, "ada", "bob")
			m := a.PutMeeting(t, map[string]string{"meeting_id": "kill", "title": "One place left", "starts_at": "2031-03-13T18:30", "venue": "Hall", "capacity": "1"})
			for _, who := range []string{"ada", "bob"} {
				if _, err := a.Store.Answer(ctx, m.ID, ms[who].ID, group.Yes, 0, m.Capacity, group.SourceLink, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if r, _ := a.Store.RSVP(ctx, m.ID, ms["bob"].ID); r.Place != group.PlaceWaitlisted {
				t.Fatalf("bob should wait: %+v", r)
			}

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			base := "http://" + addr
			procEnv := append(os.Environ(), env(a)...)
			procEnv = append(procEnv, "AFTERPARTY_BASE_URL="+base)
			var hung <-chan struct{}
			if midPromotion {
				var proxy string
				proxy, hung = hangingDynamo(t, a.Stack.DynamoURL)
				procEnv = append(procEnv, "AWS_ENDPOINT_URL_DYNAMODB="+proxy)
			}
			srv := exec.Command(bin, "serve", "--addr", addr, "--send-notices=false")
			srv.Env = procEnv
			var logs bytes.Buffer
			srv.Stdout, srv.Stderr = &logs, &logs
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
			waitFor(t, base+"/join", &logs)

			no := cycle.MemberLinks(a.Runner.Links, m, ms["ada"], time.Now()).No
			u, _ := url.Parse(no)
			form := url.Values{"t": {u.Query().Get("t")}, "answer": {"no"}}
			answered := make(chan error, 1)
			go func() {
				res, err := http.PostForm(base+"/rsvp", form)
				if err == nil {
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("POST /rsvp: %s", res.Status)
					}
				}
				answered <- err
			}()
			if midPromotion {
				select {
				case <-hung:
				case err := <-answered:
					t.Fatalf("the POST finished (%v) before the promotion hung:\n%s", err, logs.String())
				case <-time.After(30 * time.Second):
					t.Fatalf("the promoting write never came:\n%s", logs.String())
				}
			} else if err := <-answered; err != nil {
				t.Fatal(err)
			}
			if err := srv.Process.Kill(); err != nil { // SIGKILL: no deferred work runs
				t.Fatal(err)
			}
			srv.Wait()

			fnEnv := append(env(a), "AFTERPARTY_BASE_URL="+base)
			sweep := func(event []byte) cycle.NoticeReport {
				t.Helper()
				f := lambdatest.Start(t, outbox, fnEnv)
				var rep cycle.NoticeReport
				out := f.Invoke(t, event)
				if err := json.Unmarshal(out, &rep); err != nil {
					t.Fatalf("outbox answered %s: %v", out, err)
				}
				t.Logf("outbox sweep: %+v", rep)
				f.Stop()
				return rep
			}
			promoted := func() int { return a.Counts(t, "a place opened up")["bob"] }
			if midPromotion {
				if r, _ := a.Store.RSVP(ctx, m.ID, ms["bob"].ID); r.Place != group.PlaceWaitlisted {
					t.Fatalf("bob should still wait after the killed promotion: %+v", r)
				}
				if rep := sweep(scheduledEvent(t, time.Now())); rep.Repaired != 1 || rep.Sent != 1 {
					t.Fatalf("the first sweep should repair the meeting's places and send bob's email: %+v", rep)
				}
			} else if rep := sweep(streamEvent(t, a)); rep.Repaired != 0 || rep.Sent != 1 {
				t.Fatalf("the stream's sweep should send bob's email, with nothing to repair: %+v", rep)
			}
			if rep := sweep(scheduledEvent(t, time.Now())); rep.Sent != 0 || rep.Seen != 0 {
				t.Fatalf("a second sweep should find the outbox empty: %+v", rep)
			}
			if n := promoted(); n != 1 {
				t.Fatalf("bob got %d \"a place opened up\" emails, want exactly 1 (all: %v)", n, a.Counts(t, ""))
			}
			if n := a.Counts(t, "a place opened up")["ada"]; n != 0 {
				t.Errorf("ada got %d promotion emails", n)
			}
			if r, _ := a.Store.RSVP(ctx, m.ID, ms["bob"].ID); r.Place != group.PlaceGoing {
				t.Errorf("bob is not going: %+v", r)
			}
			if page, _, err := a.Store.IntentsPage(ctx, "", 10); err != nil || len(page) != 0 {
				t.Errorf("the outbox should be empty: %+v, %v", page, err)
			}
		})
	}
}

// waitFor polls a URL until it answers 200.
func waitFor(t *testing.T, u string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered:\n%s", u, logs.String())
}

// streamEvent is what the state table's stream hands the outbox function for the
// outbox's items now (KEYS_ONLY, INSERT, filtered to pk OUTBOX as template.yaml's
// FilterCriteria does).
func streamEvent(t *testing.T, a *apptest.App) []byte {
	t.Helper()
	page, _, err := a.Store.IntentsPage(context.Background(), "", 10)
	if err != nil || len(page) == 0 {
		t.Fatalf("no outbox item to stream: %v", err)
	}
	var ev events.DynamoDBEvent
	for i, in := range page {
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{
			EventID: fmt.Sprintf("e%d", i), EventName: "INSERT", EventVersion: "1.1", EventSource: "aws:dynamodb", AWSRegion: "us-east-1",
			EventSourceArn: "arn:aws:dynamodb:us-east-1:000000000000:table/afterparty-state/stream/2026-11-30T00:00:00.000",
			Change: events.DynamoDBStreamRecord{
				Keys:           map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("OUTBOX"), "sk": events.NewStringAttribute(in.Key)},
				SequenceNumber: fmt.Sprint(100 + i), SizeBytes: 64, StreamViewType: "KEYS_ONLY",
			},
		})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
