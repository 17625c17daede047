package cycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/faultproxy"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// TestSendNotices: a promotion is sent once and a second sweep sends nothing; SES
// throttling every call or a paused account leaves it in the outbox for the next
// sweep; a promotion whose COUNT write has not happened waits; one whose member
// answered No since is dropped unsent.
func TestSendNotices(t *testing.T) {
	stack := localstack.Get(t)
	ses, err := faultproxy.Start(faultproxy.SES, stack.SESURL, faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ses.Close)
	a := apptest.NewVia(t, nil, config.Endpoints{DynamoDB: stack.DynamoURL, SESv2: ses.URL})
	ctx := context.Background()
	ms := a.AddMembers(t, "ada", "bob", "cy")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "notices", "title": "Few places", "starts_at": "2031-03-13T18:30", "venue": "Hall", "capacity": "1"})
	answer := func(who string, ans group.Answer) {
		t.Helper()
		if _, err := a.Store.Answer(ctx, m.ID, ms[who].ID, ans, 0, m.Capacity, group.SourceLink, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(ctx context.Context) cycle.NoticeReport {
		t.Helper()
		rep, err := a.Runner.SendNotices(ctx)
		if err != nil && ctx.Err() == nil {
			t.Fatalf("sweep: %v", err)
		}
		return rep
	}
	promoted := func(who string) int { return a.Counts(t, "a place opened up")[who] }
	answer("ada", group.Yes)
	answer("bob", group.Yes)
	answer("cy", group.Yes) // bob, then cy wait
	answer("ada", group.No) // bob is promoted: his intent is recorded

	// SES throttles every call: the sweep gives up before its deadline, the
	// email stays.
	ses.SetFaults(faultproxy.Faults{Throttle: 1, Only: []string{"SendEmail"}})
	short, cancel := context.WithTimeout(ctx, 13*time.Second)
	rep := sweep(short)
	cancel()
	if rep.Sent != 0 || promoted("bob") != 0 {
		t.Fatalf("throttled sweep sent: %+v", rep)
	}
	ses.SetFaults(faultproxy.Faults{})

	// Paused: nothing sent, the intent stays.
	stack.SESLayer.SetAccountError("SendingPausedException")
	// (the proxy forwards GetAccount to the strict layer, which answers paused)
	rep, err = a.Runner.SendNotices(ctx)
	stack.SESLayer.SetAccountError("")
	if err != nil || rep.Stopped == "" || rep.Sent != 0 || promoted("bob") != 0 {
		t.Fatalf("paused sweep: %+v, %v", rep, err)
	}

	// Sent once; a second sweep sends nothing.
	if rep := sweep(ctx); rep.Sent != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	if rep := sweep(ctx); rep.Sent != 0 || rep.Seen != 0 || promoted("bob") != 1 {
		t.Fatalf("second sweep: %+v; bob got %d", rep, promoted("bob"))
	}

	// A promotion intent whose COUNT write has not happened, with no place free
	// (cy still queued): the sweep repairs the meeting's places, finds no room for
	// cy, and drops the email unsent (a later promotion records it again).
	p, err := a.Store.Places(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := dynamoIntent(m.ID, ms["cy"].ID, p.QueuedSince(ms["cy"].ID))
	if _, err := a.Store.RecordIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	if rep := sweep(ctx); rep.Repaired != 1 || rep.Dropped != 1 || rep.Sent != 0 || promoted("cy") != 0 {
		t.Fatalf("still queued, no room: %+v", rep)
	}
	// Recorded again, and cy answers No: dropped unsent.
	if _, err := a.Store.RecordIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	answer("cy", group.No)
	if rep := sweep(ctx); rep.Dropped != 1 || rep.Sent != 0 || promoted("cy") != 0 {
		t.Fatalf("answer changed to No: %+v", rep)
	}
	if page, _, _ := a.Store.IntentsPage(ctx, "", 10); len(page) != 0 {
		t.Fatalf("outbox not empty: %+v", page)
	}
}

func dynamoIntent(meetingID, memberID, since string) dynamo.Intent {
	return dynamo.NewIntent(dynamo.IntentPromoted, meetingID, memberID, since, time.Now())
}
