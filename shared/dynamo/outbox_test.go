package dynamo_test

import (
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// TestOutbox: recording an intent twice is a no-op, the outbox reads in keyset
// pages, a drop deletes (twice is no error), and a promotion records its intent
// keyed by the queue entry before the member is seated. Through the strict layer.
func TestOutbox(t *testing.T) {
	s := newStore(t)
	now := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	join := dynamo.NewIntent(dynamo.IntentJoinConfirm, "", "m1", dynamo.IntentTime(now), now)
	for i, want := range []bool{true, false} {
		got, err := s.RecordIntent(ctx, join)
		if err != nil || got != want {
			t.Fatalf("record #%d: %v, %v; want %v", i+1, got, err, want)
		}
	}
	if _, err := s.RecordIntent(ctx, dynamo.Intent{Kind: dynamo.IntentWelcome}); err == nil {
		t.Fatal("an intent without a key was recorded")
	}
	for i := range 3 {
		if _, err := s.RecordIntent(ctx, dynamo.NewIntent(dynamo.IntentWelcome, "", memberID(i), dynamo.IntentTime(now), now)); err != nil {
			t.Fatal(err)
		}
	}
	var all []dynamo.Intent
	after := ""
	for {
		page, next, err := s.IntentsPage(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 4 || all[0].Key != join.Key || all[0].MemberID != "m1" || all[0].Since != join.Since || !all[0].CreatedAt.Equal(now) {
		t.Fatalf("outbox: %+v", all)
	}
	for range 2 {
		if err := s.DropIntent(ctx, join.Key); err != nil {
			t.Fatal(err)
		}
	}

	// capacity 1: m0 going, m1 waits; m0 leaves and m1 is promoted, the intent
	// keyed by m1's queue entry.
	for _, id := range []string{"m0", "m1"} {
		if _, err := s.Answer(ctx, "cap", id, group.Yes, 0, 1, group.SourceLink, now); err != nil {
			t.Fatal(err)
		}
	}
	_, since, err := s.PlaceOf(ctx, "cap", "m1")
	if err != nil || since == "" {
		t.Fatalf("m1 not queued: %q %v", since, err)
	}
	b, err := s.Answer(ctx, "cap", "m0", group.No, 0, 1, group.SourceLink, now)
	if err != nil || len(b.Promoted) != 1 {
		t.Fatalf("promotion: %+v %v", b, err)
	}
	seated, _, _ := s.PlaceOf(ctx, "cap", "m1")
	page, _, err := s.IntentsPage(ctx, "", 100)
	if err != nil || !seated {
		t.Fatal(err, seated)
	}
	want := dynamo.NewIntent(dynamo.IntentPromoted, "cap", "m1", since, now).Key
	found := false
	for _, in := range page {
		found = found || (in.Key == want && in.Kind == dynamo.IntentPromoted && in.MeetingID == "cap")
	}
	if !found {
		t.Fatalf("no promotion intent %s in %+v", want, page)
	}
}
