package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/faultproxy"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
)

// The most DynamoDB round trips one after another an RSVP POST may make (calls
// made at once count as one).
const (
	tripsNoCapacity = 3
	tripsCapacity   = 4
	// A POST that frees a place with someone waiting also promotes: the queue
	// (beside the mirror), the promotion's email recorded in the outbox, the
	// promotion, its mirror, a look whether more fit (shared/dynamo): 8 in all. The
	// email itself is sent by the outbox, not in the request.
	tripsPromotion = 8
)

// tripDelay is how long the proxy holds each call while round trips are counted.
const tripDelay = 100 * time.Millisecond

// TestRSVPPostRoundTrips counts, through a proxy in front of the local stack,
// the DynamoDB round trips of single RSVP POSTs (one at a time), and fails when one
// makes more than the bound.
func TestRSVPPostRoundTrips(t *testing.T) {
	stack := localstack.Get(t)
	proxy, err := faultproxy.Start(faultproxy.DynamoDB, stack.DynamoURL, faultproxy.Options{RecordCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	a := apptest.NewVia(t, nil, config.Endpoints{DynamoDB: proxy.URL, SESv2: stack.SESURL})
	srv := httptest.NewServer(a.Site.Handler())
	defer srv.Close()
	a.Site.BaseURL, a.Runner.Links.BaseURL = srv.URL, srv.URL
	ms := a.AddMembers(t, "ada", "ken", "grace", "bob")
	open := a.PutMeeting(t, meetingFields("trips-open", "guests_max", "2"))
	full := a.PutMeeting(t, meetingFields("trips-full", "capacity", "2"))

	post := func(t *testing.T, m group.Meeting, who string, form url.Values, want string) int {
		t.Helper()
		l := cycle.MemberLinks(a.Runner.Links, m, ms[who], a.Site.Clock())
		u, _ := url.Parse(l.Yes)
		form.Set("t", u.Query().Get("t"))
		proxy.Reset()
		res, err := http.PostForm(srv.URL+"/rsvp", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("POST %v by %s: %d, want a page with %q:\n%s", form, who, res.StatusCode, want, body)
		}
		calls := proxy.Calls()
		trips := faultproxy.RoundTrips(calls)
		ops := make([]string, len(calls))
		for i, c := range calls {
			ops[i] = c.Op
		}
		t.Logf("%d round trips, %d requests: %s", trips, len(calls), strings.Join(ops, " "))
		return trips
	}
	steps := []struct {
		name    string
		meeting group.Meeting
		who     string
		form    url.Values
		page    string
		max     int
	}{
		{"no capacity, first answer of the meeting", open, "ada", url.Values{"answer": {"yes"}}, "You're going", tripsNoCapacity},
		{"no capacity, yes", open, "ken", url.Values{"answer": {"yes"}}, "You're going", tripsNoCapacity},
		{"no capacity, guest change", open, "ken", url.Values{"answer": {"yes"}, "guests": {"2"}}, "with 2 guests", tripsNoCapacity},
		{"no capacity, fewer guests", open, "ken", url.Values{"answer": {"yes"}, "guests": {"1"}}, "with 1 guest", tripsNoCapacity},
		{"no capacity, maybe", open, "ken", url.Values{"answer": {"maybe"}}, "We recorded: Maybe", tripsNoCapacity},
		{"no capacity, no", open, "ada", url.Values{"answer": {"no"}}, "We recorded: No", tripsNoCapacity},
		{"capacity, seated (first answer)", full, "ada", url.Values{"answer": {"yes"}}, "You're going", tripsCapacity},
		{"capacity, seated", full, "ken", url.Values{"answer": {"yes"}}, "You're going", tripsCapacity},
		{"capacity, leaving with nobody waiting", full, "ken", url.Values{"answer": {"no"}}, "We recorded: No", tripsCapacity},
		{"capacity, seated again", full, "ken", url.Values{"answer": {"yes"}}, "You're going", tripsCapacity},
		{"capacity, waitlisted", full, "grace", url.Values{"answer": {"yes"}}, "on the waitlist: number 1", tripsCapacity},
		{"capacity, waitlisted second", full, "bob", url.Values{"answer": {"yes"}}, "on the waitlist: number 2", tripsCapacity},
		{"capacity, leaving promotes the first in line", full, "ada", url.Values{"answer": {"maybe"}}, "We recorded: Maybe", tripsPromotion},
	}
	// Every call is held 100 ms at the proxy, so calls the code makes at once
	// overlap there for certain (a goroutine started a little late on a busy
	// machine still finds the other in flight), and calls one after another do not.
	proxy.SetFaults(faultproxy.Faults{Slow: 1, Delay: tripDelay})
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if n := post(t, st.meeting, st.who, st.form, st.page); n > st.max {
				t.Errorf("%d DynamoDB round trips one after another, want at most %d", n, st.max)
			}
		})
	}
	if r, err := a.Store.RSVP(ctx, full.ID, ms["grace"].ID); err != nil || r.Place != group.PlaceGoing {
		t.Fatalf("grace was not promoted: %+v %v", r, err)
	}
}
