package dynamo

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// Campaigns reads every campaign's progress item of a meeting (one Query on the
// meeting's partition), member kinds and organizer emails alike.
func (s *Store) Campaigns(ctx context.Context, meetingID string) ([]Campaign, error) {
	var out []Campaign
	for after := ""; ; {
		items, next, err := s.queryPage(ctx, meetingPK(meetingID), "CAMPAIGN#", after, 0)
		if err != nil {
			return nil, fmt.Errorf("read campaigns of %s: %w", meetingID, err)
		}
		for _, item := range items {
			var c campaignItem
			if err := attributevalue.UnmarshalMap(item, &c); err != nil {
				return nil, err
			}
			out = append(out, c.campaign())
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// LedgerCounts tallies a campaign's send ledger by state, and returns up to
// maxErrors of its failed entries, latest first.
func (s *Store) LedgerCounts(ctx context.Context, campaign string, maxErrors int) (map[string]int, []SendRecord, error) {
	counts := map[string]int{}
	var failed []SendRecord
	for after := ""; ; {
		page, next, err := s.LedgerPage(ctx, campaign, after, 1000)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range page {
			counts[r.State]++
			if r.State == SendFailed {
				failed = append(failed, r)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].SentAt.After(failed[j].SentAt) })
	if len(failed) > maxErrors {
		failed = failed[:maxErrors]
	}
	return counts, failed, nil
}
