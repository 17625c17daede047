// Package faultproxy is a small HTTP proxy for tests and benchmarks that stands in
// front of the DynamoDB or SES emulator and injects the faults the real services
// produce: throttling, 5xx answers, slow answers and dropped connections. It also
// counts requests per operation, DynamoDB's consumed capacity (it asks for it on
// every request), and SES sends per recipient; it can enforce an SES MaxSendRate,
// and, for benchmarks too large for the emulator's in-memory store, answer SES
// itself as a counting sink.
package faultproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Service is what the proxy stands in front of.
type Service int

// Services.
const (
	DynamoDB Service = iota
	SES
)

// Faults says how often each fault happens, as fractions of requests (0 to 1).
// Only is a filter on operation names (e.g. "SendEmail", "UpdateItem"); empty
// means every operation.
type Faults struct {
	Throttle    float64       // answered as throttled before reaching the service
	ServerError float64       // answered 500/503 before reaching the service
	Drop        float64       // connection closed before reaching the service
	DropAfter   float64       // forwarded, then the connection closed: the answer is lost (SES may have sent!)
	Slow        float64       // delayed by Delay before forwarding
	Delay       time.Duration // how slow a slow answer is
	Only        []string
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL     string
	service Service
	target  *url.URL
	rp      *httputil.ReverseProxy
	srv     *http.Server

	mu       sync.Mutex
	faults   Faults
	rng      *rand.Rand
	ops      map[string]int64
	injected map[string]int64
	capacity float64
	sends    map[string]int64 // SES: accepted sends per recipient address
	first    time.Time        // SES: when the first and last send since Reset were accepted
	last     time.Time

	record bool
	calls  []Call // with record: every request since Reset, with when it came and when it was answered

	limiter *rate.Limiter // SES MaxSendRate enforcement, nil for none
	sink    bool          // SES: answer SendEmail and GetAccount here
	// ownAccount: answer GetAccount here with the enforced MaxSendRate, so the
	// sender paces to what the proxy enforces.
	ownAccount bool
	account    []byte
	msgSeq     atomic.Int64
}

// Options configure a proxy.
type Options struct {
	// MaxSendRate, for SES, throttles SendEmail calls above this rate (per second)
	// with 429 TooManyRequestsException, as SES does; 0 enforces nothing.
	MaxSendRate float64
	// Sink, for SES, answers SendEmail (counting recipients) and GetAccount itself.
	Sink bool
	Seed uint64
	// RecordCalls keeps every request's operation and times for Calls (tests
	// that count round trips; off for large benchmarks).
	RecordCalls bool
}

// Start runs a proxy on a free loopback port in front of target.
func Start(service Service, target string, opt Options) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(), service: service, target: u,
		rng: rand.New(rand.NewPCG(opt.Seed, 7)), ops: map[string]int64{}, injected: map[string]int64{},
		sends: map[string]int64{}, sink: opt.Sink, ownAccount: opt.Sink || opt.MaxSendRate > 0, record: opt.RecordCalls,
	}
	if opt.MaxSendRate > 0 {
		p.limiter = rate.NewLimiter(rate.Limit(opt.MaxSendRate), max(1, int(opt.MaxSendRate)))
	}
	acct := map[string]any{
		"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY",
		"SendQuota":                    map[string]any{"Max24HourSend": 1e9, "MaxSendRate": max(opt.MaxSendRate, 100000), "SentLast24Hours": 0},
		"DedicatedIpAutoWarmupEnabled": false, "Details": nil,
	}
	if opt.MaxSendRate > 0 {
		acct["SendQuota"].(map[string]any)["MaxSendRate"] = opt.MaxSendRate
	}
	p.account, _ = json.Marshal(acct)
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	p.rp.ModifyResponse = p.observe
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // a client giving up mid-request is expected here
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// SetFaults replaces the faults injected from now on.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Stats is what the proxy saw.
type Stats struct {
	Ops      map[string]int64 // requests that reached the service (or the sink), by operation
	Injected map[string]int64 // faults injected, by kind
	Capacity float64          // DynamoDB capacity units the service reported consumed
	Sends    map[string]int64 // SES SendEmail calls accepted, by recipient
	// FirstSend and LastSend are when the first and the last SendEmail since the
	// last Reset were let through (zero if none).
	FirstSend, LastSend time.Time
}

// Stats copies the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Ops: map[string]int64{}, Injected: map[string]int64{}, Capacity: p.capacity, Sends: map[string]int64{}, FirstSend: p.first, LastSend: p.last}
	for k, v := range p.ops {
		s.Ops[k] = v
	}
	for k, v := range p.injected {
		s.Injected[k] = v
	}
	for k, v := range p.sends {
		s.Sends[k] = v
	}
	return s
}

// Call is one request the proxy served: its operation, when it arrived and when
// its answer was written.
type Call struct {
	Op         string
	Start, End time.Time
}

// Calls returns the requests served since the last Reset (with RecordCalls), in
// order of arrival.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]Call(nil), p.calls...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// RoundTrips counts the round trips one after another in calls made by one
// client action: calls whose intervals overlap (directly or through others) ran
// at once and count as one.
func RoundTrips(calls []Call) int {
	sorted := append([]Call(nil), calls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	trips := 0
	var end time.Time
	for _, c := range sorted {
		if trips == 0 || !c.Start.Before(end) {
			trips++
			end = c.End
		} else if c.End.After(end) {
			end = c.End
		}
	}
	return trips
}

// Reset zeroes the counters.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.calls = nil
	p.ops, p.injected, p.sends, p.capacity = map[string]int64{}, map[string]int64{}, map[string]int64{}, 0
	p.first, p.last = time.Time{}, time.Time{}
	p.mu.Unlock()
}

func (p *Proxy) operation(r *http.Request) string {
	if p.service == DynamoDB {
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			return t[strings.LastIndex(t, ".")+1:]
		}
		return "unknown"
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails":
		return "SendEmail"
	case r.Method == http.MethodGet && r.URL.Path == "/v2/email/account":
		return "GetAccount"
	}
	return r.Method + " " + r.URL.Path
}

// decide draws one fault for a request ("" for none).
func (p *Proxy) decide(op string) (fault string, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	if len(f.Only) > 0 {
		match := false
		for _, o := range f.Only {
			match = match || o == op
		}
		if !match {
			return "", 0
		}
	}
	if f.Slow > 0 && p.rng.Float64() < f.Slow {
		delay = f.Delay
	}
	x := p.rng.Float64()
	for _, c := range []struct {
		name string
		frac float64
	}{{"throttle", f.Throttle}, {"5xx", f.ServerError}, {"drop", f.Drop}, {"drop-after", f.DropAfter}} {
		if x < c.frac {
			p.injected[c.name]++
			return c.name, delay
		}
		x -= c.frac
	}
	if delay > 0 {
		p.injected["slow"]++
	}
	return "", delay
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	op := p.operation(r)
	if p.record {
		call := Call{Op: op, Start: time.Now()}
		defer func() {
			call.End = time.Now()
			p.mu.Lock()
			p.calls = append(p.calls, call)
			p.mu.Unlock()
		}()
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	fault, delay := p.decide(op)
	if delay > 0 {
		time.Sleep(delay)
	}
	switch fault {
	case "throttle", "5xx":
		p.answerError(w, fault)
		return
	case "drop":
		hangUp(w)
		return
	}
	if p.service == SES && op == "SendEmail" && p.limiter != nil && !p.limiter.Allow() {
		p.mu.Lock()
		p.injected["throttle-rate"]++
		p.mu.Unlock()
		p.answerError(w, "throttle")
		return
	}
	if p.service == DynamoDB {
		body = askCapacity(body)
	}
	if p.service == SES && op == "SendEmail" {
		p.recordSend(body)
	}
	p.mu.Lock()
	p.ops[op]++
	p.mu.Unlock()
	if p.service == SES && op == "GetAccount" && p.ownAccount {
		w.Header().Set("Content-Type", "application/json")
		w.Write(p.account)
		return
	}
	if p.sink && p.service == SES {
		switch op {
		case "SendEmail":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"MessageId":"sink-%d"}`, p.msgSeq.Add(1))
		case "GetAccount":
			w.Header().Set("Content-Type", "application/json")
			w.Write(p.account)
		default:
			http.Error(w, `{"message":"not in the sink"}`, http.StatusNotFound)
		}
		if fault == "drop-after" {
			hangUp(w)
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if fault == "drop-after" {
		rec := &discard{header: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		hangUp(w)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// answers are the injected errors as each service words them: status, error type
// and body.
var answers = map[Service]map[string]struct {
	status    int
	errorType string // X-Amzn-ErrorType (SES's REST protocol; DynamoDB puts it in the body)
	body      string
}{
	DynamoDB: {
		"throttle": {http.StatusBadRequest, "", `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected: throughput exceeded"}`},
		"5xx":      {http.StatusInternalServerError, "", `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected: internal error"}`},
	},
	SES: {
		"throttle": {http.StatusTooManyRequests, "TooManyRequestsException", `{"message":"injected: Maximum sending rate exceeded."}`},
		"5xx":      {http.StatusServiceUnavailable, "InternalFailure", `{"message":"injected: service unavailable"}`},
	},
}

// answerError answers with the service's own form of an injected fault.
func (p *Proxy) answerError(w http.ResponseWriter, fault string) {
	a := answers[p.service][fault]
	if p.service == DynamoDB {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", a.errorType)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// askCapacity adds ReturnConsumedCapacity=TOTAL to a DynamoDB request.
func askCapacity(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return body
	}
	if _, ok := m["TableName"]; !ok {
		if _, ok := m["RequestItems"]; !ok {
			return body
		}
	}
	if _, ok := m["KeySchema"]; ok { // CreateTable
		return body
	}
	m["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// observe reads the consumed capacity a DynamoDB answer reports.
func (p *Proxy) observe(res *http.Response) error {
	if p.service != DynamoDB || res.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	var doc struct {
		ConsumedCapacity json.RawMessage
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.ConsumedCapacity) == 0 {
		return nil
	}
	type cc struct{ CapacityUnits float64 }
	var total float64
	var one cc
	var many []cc
	if json.Unmarshal(doc.ConsumedCapacity, &one) == nil && doc.ConsumedCapacity[0] == '{' {
		total = one.CapacityUnits
	} else if json.Unmarshal(doc.ConsumedCapacity, &many) == nil {
		for _, c := range many {
			total += c.CapacityUnits
		}
	}
	p.mu.Lock()
	p.capacity += total
	p.mu.Unlock()
	return nil
}

// recordSend counts an SES SendEmail by recipient (Destination, else the raw To).
func (p *Proxy) recordSend(body []byte) {
	var in struct {
		Destination *struct{ ToAddresses []string }
		Content     struct {
			Raw *struct{ Data string }
		}
	}
	if json.Unmarshal(body, &in) != nil {
		return
	}
	var to []string
	if in.Destination != nil {
		to = in.Destination.ToAddresses
	}
	if len(to) == 0 && in.Content.Raw != nil {
		if raw, err := base64.StdEncoding.DecodeString(in.Content.Raw.Data); err == nil {
			if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
				if list, err := msg.Header.AddressList("To"); err == nil {
					for _, a := range list {
						to = append(to, a.Address)
					}
				}
			}
		}
	}
	p.mu.Lock()
	now := time.Now()
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	for _, a := range to {
		p.sends[strings.ToLower(a)]++
	}
	p.mu.Unlock()
}
