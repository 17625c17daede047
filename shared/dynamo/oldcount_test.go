package dynamo_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// TestCountItemBeforeVersionGate proves answers still work on a meeting whose COUNT
// item was written before the per-member answer versions existed (no `ver` map):
// DynamoDB refuses to SET an entry of a map that is not there, so the first
// answer adds the empty map and writes again.
func TestCountItemBeforeVersionGate(t *testing.T) {
	s := newStore(t)
	const meeting = "before-ver"
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	// As the code before the version gate left them: m0001 going with one guest.
	put(map[string]types.AttributeValue{
		"pk": str("MEETING#" + meeting), "sk": str("COUNT"), "going": n("2"), "waiting": n("0"), "seq": n("3"),
		"seats": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{memberID(1): n("2")}},
		"queue": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
	})
	put(map[string]types.AttributeValue{
		"pk": str("MEETING#" + meeting), "sk": str("RSVP#" + memberID(1)), "answer": str("yes"), "guests": n("1"),
		"version": n("1"), "changes": n("1"), "place": str(group.PlaceGoing), "seats": n("2"), "count_seq": n("3"),
		"answered_at": str("2031-01-01T10:00:00Z"), "first_answered_at": str("2031-01-01T10:00:00Z"), "source": str(group.SourceLink),
	})
	now := time.Date(2031, 1, 2, 10, 0, 0, 0, time.UTC)
	b, err := s.Answer(ctx, meeting, memberID(2), group.Yes, 0, 5, group.SourceLink, now)
	if err != nil {
		t.Fatalf("a Yes on an older COUNT item: %v", err)
	}
	if b.Going != 3 || b.RSVP.Place != group.PlaceGoing {
		t.Fatalf("after m0002's Yes: going %d, place %q; want 3, going", b.Going, b.RSVP.Place)
	}
	if b, err = s.Answer(ctx, meeting, memberID(1), group.No, 0, 5, group.SourceLink, now.Add(time.Minute)); err != nil || b.Going != 1 {
		t.Fatalf("m0001's No: going %d, %v; want 1", b.Going, err)
	}
	going, _ := checkConsistent(t, s, meeting)
	if len(going) != 1 {
		t.Fatalf("going %v, want m0002 alone", going)
	}
}
