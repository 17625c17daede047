package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// These remove what one meeting left in the state table, for `afterparty smoke`,
// which writes a test meeting to a real deployment and must leave nothing behind.
// They are not for real meetings: their answers and ledger are the group's record.

// MeetingItems counts what a meeting holds in the state table: the items of its
// partition (RSVPs, pub answers, places, clicks, campaigns, what calendars were
// told), its send ledger entries (of every campaign it has a progress item for and
// of every member kind and digest), and the icebreaker drawn for it.
func (s *Store) MeetingItems(ctx context.Context, meetingID string) (int, error) {
	keys, err := s.meetingKeys(ctx, meetingID)
	return len(keys), err
}

// RemoveMeetingState deletes every item MeetingItems counts, one DeleteItem each,
// and returns how many it deleted.
func (s *Store) RemoveMeetingState(ctx context.Context, meetingID string) (int, error) {
	keys, err := s.meetingKeys(ctx, meetingID)
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.StateTable, Key: k}); err != nil {
			return i, fmt.Errorf("delete state of meeting %s: %w", meetingID, err)
		}
	}
	return len(keys), nil
}

// DeleteMember removes a member's item.
func (s *Store) DeleteMember(ctx context.Context, id string) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.StateTable, Key: key(membersPK, id)}); err != nil {
		return fmt.Errorf("delete member %s: %w", id, err)
	}
	return nil
}

// meetingKeys lists the keys of the items MeetingItems counts.
func (s *Store) meetingKeys(ctx context.Context, meetingID string) ([]map[string]types.AttributeValue, error) {
	kinds := map[string]bool{}
	for _, k := range group.Kinds {
		kinds[string(k)] = true
	}
	for _, d := range group.Digests {
		kinds[d.Name] = true
	}
	var keys []map[string]types.AttributeValue
	partition := func(pk string, each func(sk string)) error {
		for after := ""; ; {
			items, next, err := s.queryPage(ctx, pk, "", after, 0)
			if err != nil {
				return fmt.Errorf("read %s: %w", pk, err)
			}
			for _, item := range items {
				sk, ok := item["sk"].(*types.AttributeValueMemberS)
				if !ok {
					continue
				}
				keys = append(keys, key(pk, sk.Value))
				if each != nil {
					each(sk.Value)
				}
			}
			if next == "" {
				return nil
			}
			after = next
		}
	}
	err := partition(meetingPK(meetingID), func(sk string) {
		if kind, ok := strings.CutPrefix(sk, campaignSK("")); ok {
			kinds[kind] = true
		}
	})
	if err != nil {
		return nil, err
	}
	for kind := range kinds {
		if err := partition(ledgerPK(CampaignID(meetingID, kind)), nil); err != nil {
			return nil, err
		}
	}
	var drawn struct {
		SK string `dynamodbav:"sk"`
	}
	switch err := s.get(ctx, icebreakersPK, meetingID, &drawn); err {
	case nil:
		keys = append(keys, key(icebreakersPK, meetingID))
	case ErrNotFound:
	default:
		return nil, fmt.Errorf("read the icebreaker of %s: %w", meetingID, err)
	}
	return keys, nil
}
