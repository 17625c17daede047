// Package bench_test measures afterparty against the local stack: campaigns of
// 1,000 to 100,000 members paced by an enforced MaxSendRate and unpaced, the RSVP
// POST's latency under 50 concurrent clients, each function's bootstrap size and
// its cold start under the Lambda runtime interface emulator. `make bench` runs it
// and prints one table.
package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/faultproxy"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

var ctx = context.Background()

// peakHeap samples the heap in use until stop is closed and returns the peak.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func BenchmarkCampaign(b *testing.B) {
	cases := []struct {
		members int
		rate    float64 // enforced by the SES proxy; 0: none
	}{
		{1000, 200}, {10000, 200}, {1000, 0}, {10000, 0}, {100000, 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("members=%d/rate=%s", c.members, rateName(c.rate))
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchCampaign(b, c.members, c.rate)
			}
		})
	}
}

func rateName(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%.0f", r)
}

func benchCampaign(b *testing.B, members int, maxRate float64) {
	b.StopTimer()
	stack := localstack.Get(b)
	ddb, err := faultproxy.Start(faultproxy.DynamoDB, stack.DynamoURL, faultproxy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ddb.Close()
	sesRate := maxRate
	if sesRate == 0 {
		sesRate = 1e6 // the sink's account: no practical limit
	}
	ses, err := faultproxy.Start(faultproxy.SES, stack.SESURL, faultproxy.Options{Sink: true, MaxSendRate: sesRate})
	if err != nil {
		b.Fatal(err)
	}
	defer ses.Close()
	// The sink answers SendEmail itself, so a strict SES layer stands in front of
	// it: what AWS would refuse is refused here too, as everywhere in the tests.
	layer, err := strict.NewSES(ses.URL, strict.SESOptions{Identities: localstack.LocalIdentities, ConfigurationSets: localstack.LocalConfigurationSets})
	if err != nil {
		b.Fatal(err)
	}
	strictSES := httptest.NewServer(layer)
	defer strictSES.Close()
	a := apptest.NewVia(b, map[string]string{"AFTERPARTY_LINK_SECRET": "bench-secret-bench-secret-bench"}, config.Endpoints{DynamoDB: ddb.URL, SESv2: strictSES.URL})
	a.Runner.Workers = 16
	a.AddManyMembers(b, members)
	m := a.PutMeeting(b, map[string]string{"meeting_id": "bench", "title": "Benchmark night", "starts_at": "2031-03-13T18:30", "venue": "Hall", "pub_name": "The Crown"})
	ddb.Reset()
	ses.Reset()
	runtime.GC()
	stop := make(chan struct{})
	peak := peakHeap(stop)

	b.StartTimer()
	start := time.Now()
	rep, err := a.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14))
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	if err != nil {
		b.Fatal(err)
	}
	res := rep.Meetings[0].Result
	if !res.Finished || res.Sent != members || res.Pending != 0 || res.Failed != 0 {
		b.Fatalf("campaign did not finish cleanly: %+v", res)
	}
	s, d := ses.Stats(), ddb.Stats()
	if len(s.Sends) != members {
		b.Fatalf("the sink saw %d recipients, want %d", len(s.Sends), members)
	}
	var writes, requests int64
	for op, n := range d.Ops {
		requests += n
		switch op {
		case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
			writes += n
		}
	}
	n := float64(members)
	b.ReportMetric(elapsed.Seconds(), "wall-s")
	b.ReportMetric(float64(res.Sent)/elapsed.Seconds(), "sent/s")
	if maxRate > 0 {
		b.ReportMetric(float64(res.Sent)/elapsed.Seconds()/maxRate, "of-rate")
	}
	b.ReportMetric(float64(s.Ops["SendEmail"])/n, "ses-calls/rcpt")
	b.ReportMetric(float64(s.Injected["throttle-rate"]), "throttled")
	b.ReportMetric(float64(requests)/n, "ddb-req/rcpt")
	b.ReportMetric(float64(writes)/n, "ddb-writes/rcpt")
	b.ReportMetric(d.Capacity/n, "ddb-cu/rcpt")
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkSharedRate is three invocations at once against an SES that enforces
// 50 emails/s for the account (429 above it): one meeting's reminders, another
// meeting's invitations, and a second invitations run at the same time (as a
// duplicate EventBridge delivery makes). Together they must stay under the limit
// (no throttles) and use 0.95 to 1.00 of it.
func BenchmarkSharedRate(b *testing.B) {
	const members, limit = 500, 50.0
	for range b.N {
		b.StopTimer()
		stack := localstack.Get(b)
		ddb, err := faultproxy.Start(faultproxy.DynamoDB, stack.DynamoURL, faultproxy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ses, err := faultproxy.Start(faultproxy.SES, stack.SESURL, faultproxy.Options{Sink: true, MaxSendRate: limit})
		if err != nil {
			b.Fatal(err)
		}
		layer, err := strict.NewSES(ses.URL, strict.SESOptions{Identities: localstack.LocalIdentities, ConfigurationSets: localstack.LocalConfigurationSets})
		if err != nil {
			b.Fatal(err)
		}
		strictSES := httptest.NewServer(layer)
		// Invitations a day ahead: at `at`, meeting "soon" (in 47 h) is due its
		// reminder and not yet its invitation; meeting "next" (in 12 h) is due its
		// invitation, and its reminder waits (the invitation went out less than a day ago).
		a := apptest.NewVia(b, map[string]string{"AFTERPARTY_LINK_SECRET": "bench-secret-bench-secret-bench", "AFTERPARTY_INVITATION_LEAD": "1d"},
			config.Endpoints{DynamoDB: ddb.URL, SESv2: strictSES.URL})
		a.Runner.Workers = 16
		a.AddManyMembers(b, members)
		soon := a.PutMeeting(b, map[string]string{"meeting_id": "soon", "title": "Reminder night", "starts_at": "2031-03-13T18:30", "venue": "Hall"})
		at := soon.Start.Add(-47 * time.Hour)
		next := a.PutMeeting(b, map[string]string{"meeting_id": "next", "title": "Invitation night", "starts_at": at.Add(12 * time.Hour).In(soon.Start.Location()).Format("2006-01-02T15:04"), "venue": "Hall"})
		if _, err := a.Store.StartCampaign(ctx, next.ID, string(group.Invitation), at); err != nil {
			b.Fatal(err)
		}
		ddb.Reset()
		ses.Reset()

		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		reps := make([]cycle.Report, 3)
		errs := make([]error, 3)
		for i, kind := range []group.Kind{group.Reminder, group.Invitation, group.Invitation} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reps[i], errs[i] = a.Runner.Run(ctx, kind, at)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		strictSES.Close()
		ses.Close()
		ddb.Close()
		sent := 0
		for i, rep := range reps {
			if errs[i] != nil {
				b.Fatalf("run %d: %v", i, errs[i])
			}
			for _, m := range rep.Meetings {
				sent += m.Result.Sent
			}
		}
		st, d := ses.Stats(), ddb.Stats()
		if sent != 2*members || len(st.Sends) != members {
			b.Fatalf("want %d sends to %d members, got %d sends to %d", 2*members, members, sent, len(st.Sends))
		}
		for to, n := range st.Sends {
			if n != 2 {
				b.Fatalf("%s got %d emails, want 2 (a reminder and an invitation)", to, n)
			}
		}
		rate := float64(sent) / elapsed.Seconds()
		b.ReportMetric(elapsed.Seconds(), "wall-s")
		b.ReportMetric(rate, "sent/s")
		b.ReportMetric(rate/limit, "of-rate")
		// The same over the time the runs had work: the first send to the last.
		if span := st.LastSend.Sub(st.FirstSend).Seconds(); span > 0 {
			b.ReportMetric(float64(sent-1)/span/limit, "of-rate-sending")
		}
		b.ReportMetric(float64(st.Injected["throttle-rate"]), "throttled")
		var reqs int64
		for _, n := range d.Ops {
			reqs += n
		}
		b.ReportMetric(float64(reqs)/float64(sent), "ddb-req/rcpt")
	}
}

// BenchmarkRSVPPost is the web function's RSVP POST against the local stack with
// 50 concurrent clients, each answering for its own member (Yes, No, Maybe in
// turn), without a capacity and with one (20 places for 50 members: seats,
// waitlist and promotions). DynamoDB is reached through the fault proxy (no
// faults), which counts requests per POST; after the timed run, 30 POSTs one at a
// time give the most DynamoDB round trips one after another a POST made.
func BenchmarkRSVPPost(b *testing.B) {
	for _, capacity := range []string{"", "20"} {
		name := "capacity=none"
		if capacity != "" {
			name = "capacity=" + capacity
		}
		b.Run(name, func(b *testing.B) { benchRSVPPost(b, capacity) })
	}
}

func benchRSVPPost(b *testing.B, capacity string) {
	const clients, perClient = 50, 20
	stack := localstack.Get(b)
	ddb, err := faultproxy.Start(faultproxy.DynamoDB, stack.DynamoURL, faultproxy.Options{RecordCalls: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ddb.Close()
	a := apptest.NewVia(b, map[string]string{"AFTERPARTY_LINK_SECRET": "bench-secret-bench-secret-bench"}, config.Endpoints{DynamoDB: ddb.URL, SESv2: stack.SESURL})
	a.AddManyMembers(b, clients)
	fields := map[string]string{"meeting_id": "rsvp-bench", "title": "Latency night", "starts_at": "2031-03-13T18:30", "venue": "Hall"}
	if capacity != "" {
		fields["capacity"] = capacity
	}
	m := a.PutMeeting(b, fields)
	srv := httptest.NewServer(a.Site.Handler())
	defer srv.Close()
	a.Site.BaseURL = srv.URL
	tokens := make([]string, clients)
	for i := range clients {
		member := group.Member{Email: a.Email(fmt.Sprintf("m%04d", i))}
		member.ID = group.MemberID(member.Email)
		u, _ := url.Parse(cycle.MemberLinks(a.Runner.Links, m, member, time.Now()).Yes)
		tokens[i] = u.Query().Get("t")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	answers := []string{"yes", "no", "maybe"}
	post := func(i, j int) error {
		res, err := client.PostForm(srv.URL+"/rsvp", url.Values{"t": {tokens[i]}, "answer": {answers[j%3]}})
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %d", answers[j%3], res.StatusCode)
		}
		return nil
	}
	for range b.N {
		var mu sync.Mutex
		var lat []time.Duration
		var failed atomic.Int64
		var wg sync.WaitGroup
		ddb.Reset()
		b.ResetTimer()
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perClient {
					t0 := time.Now()
					err := post(i, j)
					d := time.Since(t0)
					if err != nil {
						failed.Add(1)
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		if failed.Load() > 0 {
			b.Fatalf("%d RSVP POSTs failed", failed.Load())
		}
		var requests int64
		for _, n := range ddb.Stats().Ops {
			requests += n
		}
		// One POST at a time: the round trips each makes. Each call is held
		// 100 ms at the proxy, so calls made at once overlap there for certain
		// (as in shared/web's TestRSVPPostRoundTrips).
		ddb.SetFaults(faultproxy.Faults{Slow: 1, Delay: 100 * time.Millisecond})
		most := 0
		for j := range 30 {
			ddb.Reset()
			if err := post(j%clients, j/clients+j); err != nil {
				b.Fatal(err)
			}
			most = max(most, faultproxy.RoundTrips(ddb.Calls()))
		}
		ddb.SetFaults(faultproxy.Faults{})
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat)), "posts")
		b.ReportMetric(float64(requests)/float64(len(lat)), "ddb-req/post")
		b.ReportMetric(float64(most), "max-trips/post")
	}
}

func functions(b *testing.B) []string {
	b.Helper()
	root, err := localstack.Root()
	if err != nil {
		b.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

// BenchmarkBootstrapSize builds each function as `make build` does (linux/arm64,
// lambda.norpc, trimmed, stripped) and reports its size.
func BenchmarkBootstrapSize(b *testing.B) {
	root, _ := localstack.Root()
	for _, fn := range functions(b) {
		b.Run(fn, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "bootstrap")
			for range b.N {
				cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./functions/"+fn)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
				if o, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("build: %v\n%s", err, o)
				}
			}
			st, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size())/(1<<20), "MB")
		})
	}
}

// BenchmarkColdStart is each function's first invocation under the runtime
// interface emulator (host architecture), including the emulator's and the
// bootstrap's start, configuration and clients.
func BenchmarkColdStart(b *testing.B) {
	a := apptest.New(b, map[string]string{"AFTERPARTY_LINK_SECRET": "bench-secret-bench-secret-bench"})
	env := append(a.Stack.Env(a.Config.ScheduleTable, a.Config.StateTable), "AFTERPARTY_LINK_SECRET=bench-secret-bench-secret-bench", "HOME="+os.TempDir())
	event := []byte(`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","time":"2031-02-27T18:30:00Z","detail":{}}`)
	for _, fn := range functions(b) {
		b.Run(fn, func(b *testing.B) {
			bin := lambdatest.Build(b, fn)
			ev := event
			if fn == "web" {
				ev = []byte(`{"version":"2.0","rawPath":"/healthz","requestContext":{"http":{"method":"GET","path":"/healthz"}}}`)
			} else if strings.Contains(fn, "feedback") {
				ev = []byte(`{"Records":[]}`)
			}
			var total time.Duration
			for range b.N {
				f := lambdatest.Start(b, bin, env)
				f.Call(b, ev)
				total += f.ColdStart()
				f.Stop()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "cold-ms")
		})
	}
}
