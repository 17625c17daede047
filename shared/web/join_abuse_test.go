package web_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// lambdaServer serves the site the way the function URL does: each request goes
// through aws-lambda-go-api-proxy's payload v2 adapter with the client's address,
// taken from the X-Test-Source-IP header, as the request context's source IP.
func lambdaServer(t *testing.T, s *site) *httptest.Server {
	adapter := httpadapter.NewV2(s.Site.Handler())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path,
			Headers: map[string]string{"content-type": r.Header.Get("Content-Type")},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "abcdefghijklmnop.lambda-url.us-east-1.on.aws", RequestID: "r", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, Protocol: "HTTP/1.1",
					SourceIP: r.Header.Get("X-Test-Source-IP")},
			},
			Body: string(body),
		}
		res, err := adapter.ProxyWithContext(r.Context(), ev)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(res.StatusCode)
		io.WriteString(w, res.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestJoinUnderAbuse: 10,000 join POSTs from 5 clients (source IPs) for 50
// addresses within one hour. Each client gets AFTERPARTY_JOIN_PER_CLIENT_HOUR (10)
// requests through, every other one the same page with 429; at most one
// confirmation per address and, in all, no more than the hourly limit (20 here, to
// reach it) go out, counted in the SES emulator's store.
func TestJoinUnderAbuse(t *testing.T) {
	const posts, addresses, clients, perClient, perHour = 10000, 50, 5, 10, 20
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	s.Site.JoinPerClientHour, s.Site.JoinPerHour = perClient, perHour
	srv := lambdaServer(t, s)
	addrs := make([]string, addresses)
	for i := range addrs {
		addrs[i] = s.Email(fmt.Sprintf("abuse%02d", i))
	}
	var mu sync.Mutex
	passed := map[string]bool{} // addresses of requests within the per-client limit
	statuses := map[int]int{}
	began := time.Now()
	parallel(t, posts, 8, func(i int) error {
		addr := addrs[(i/clients)%addresses]
		ip := fmt.Sprintf("198.51.100.%d", 10+i%clients)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/join", strings.NewReader(url.Values{"name": {"Abuse Test"}, "email": {addr}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Test-Source-IP", ip)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(b), "Check your inbox") {
			return fmt.Errorf("POST %d: status %d without the neutral page:\n%s", i, res.StatusCode, b)
		}
		mu.Lock()
		defer mu.Unlock()
		statuses[res.StatusCode]++
		if res.StatusCode == http.StatusOK {
			passed[addr] = true
		}
		return nil
	})
	t.Logf("%d POSTs in %v: %v", posts, time.Since(began).Round(time.Millisecond), statuses)
	if statuses[http.StatusOK] != clients*perClient || statuses[http.StatusTooManyRequests] != posts-clients*perClient {
		t.Fatalf("statuses %v, want %d OK and the rest 429", statuses, clients*perClient)
	}
	sent := 0
	for _, a := range addrs {
		n := s.count(t, a, "Confirm")
		if n > 1 {
			t.Errorf("%d confirmations to one address within the hour", n)
		}
		if n > 0 && !passed[a] {
			t.Errorf("a confirmation went to an address whose requests were all over the per-client limit")
		}
		sent += n
	}
	if want := min(len(passed), perHour); sent != want {
		t.Fatalf("%d confirmation emails, want %d (%d addresses got through the per-client limit, %d per hour in all)", sent, want, len(passed), perHour)
	}
	// The next hour, the same client may again.
	now = now.Add(time.Hour)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/join", strings.NewReader(url.Values{"name": {"Abuse Test"}, "email": {addrs[0]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Source-IP", "198.51.100.10")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the next hour: %d", res.StatusCode)
	}
}

// TestRejoinAfterUnsubscribe: a member who unsubscribed may join again by double
// opt-in: the form sends them a confirmation, they stay unsubscribed (no group
// email) until they press it, then they are active and invited again.
func TestRejoinAfterUnsubscribe(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	ken := s.AddMembers(t, "ken")["ken"]
	if err := s.Store.SetMemberStatus(ctx, ken.ID, group.MemberUnsubscribed, now); err != nil {
		t.Fatal(err)
	}
	addr := s.Email("ken")
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Ken Again"}, "email": {addr}}).mustContain(t, "Check your inbox")
	if n := s.count(t, addr, "Confirm"); n != 1 {
		t.Fatalf("%d confirmations to an unsubscribed address that asked to rejoin, want 1", n)
	}
	if mem, _ := s.Store.Member(ctx, ken.ID); mem.Status != group.MemberUnsubscribed {
		t.Fatalf("the form alone made an unsubscribed member %s", mem.Status)
	}
	m := s.PutMeeting(t, meetingFields("rejoin"))
	if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14)); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, addr, "invited"); n != 0 {
		t.Fatal("an unsubscribed member was invited before confirming")
	}
	confirm := s.emailLink(t, addr, "Confirm", "/join/confirm")
	s.do(t, http.MethodGet, confirm, nil).mustContain(t, "Confirm and join")
	s.do(t, http.MethodPost, confirm, nil).mustContain(t, "Welcome")
	if mem, _ := s.Store.Member(ctx, ken.ID); mem.Status != group.MemberActive || mem.Name != "Ken Again" {
		t.Fatalf("after confirming: %+v; want active, named Ken Again", mem)
	}
	if n := s.count(t, addr, "Welcome"); n != 1 {
		t.Fatalf("%d welcome emails, want 1", n)
	}
	if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.Add(-13*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, addr, "invited"); n != 1 {
		t.Fatalf("the member who rejoined got %d invitations, want 1", n)
	}
}

// TestPendingJoinsExpireAndStayOutOfCampaigns: a join request not confirmed is
// not a member: the members' pages campaigns read never hold it, and JoinLinkLife
// after its latest confirmation email it is gone (confirming it then makes no
// member).
func TestPendingJoinsExpireAndStayOutOfCampaigns(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	s.Site.Clock = func() time.Time { return now }
	ada := s.AddMembers(t, "ada")["ada"]
	for i := range 5 {
		addr := s.Email(fmt.Sprintf("pending%d", i))
		s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Pen Ding"}, "email": {addr}}).mustContain(t, "Check your inbox")
	}
	page, next, err := s.Store.MembersPage(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != ada.ID || next != "" {
		t.Fatalf("the members' page holds %v (next %q), want only ada", ids(page), next)
	}
	id := group.MemberID(s.Email("pending0"))
	if _, err := s.Store.JoinRequest(ctx, id, now.Add(dynamo.JoinLinkLife-time.Second)); err != nil {
		t.Fatalf("a request just before it expires: %v", err)
	}
	late := now.Add(dynamo.JoinLinkLife)
	if m, err := s.Store.JoinRequest(ctx, id, late); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("a request past JoinLinkLife: %+v %v, want not found", m, err)
	}
	if m, _, err := s.Store.ConfirmJoin(ctx, id, late); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("confirming an expired request: %+v %v, want not found", m, err)
	}
	if m, err := s.Store.Member(ctx, id); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("an expired request left a member: %+v %v", m, err)
	}
	// Asking again after that starts a new request, confirmable.
	now = late
	s.do(t, http.MethodPost, s.srv.URL+"/join", url.Values{"name": {"Pen Ding"}, "email": {s.Email("pending0")}}).mustContain(t, "Check your inbox")
	s.do(t, http.MethodPost, s.emailLink(t, s.Email("pending0"), "Confirm", "/join/confirm"), nil).mustContain(t, "Welcome, Pen!")
}
