package dynamo_test

import (
	"context"
	"testing"

	"github.com/afterparty/afterparty/shared/group"
)

// TestMembersWithRepeatedIDs: a batch read of members named twice (or not at all)
// still works: DynamoDB refuses a BatchGetItem with a repeated key, so the store
// drops repeats and empty ids before it asks.
func TestMembersWithRepeatedIDs(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	m := group.Member{ID: group.MemberID("ada@batch.example"), Email: "ada@batch.example", Name: "Ada", Status: group.MemberActive}
	if _, err := s.AddMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Members(ctx, []string{m.ID, m.ID, "", group.MemberID("nobody@batch.example")})
	if err != nil {
		t.Fatalf("Members with a repeated id: %v", err)
	}
	if len(got) != 1 || got[m.ID].Name != "Ada" {
		t.Fatalf("Members = %+v", got)
	}
}
