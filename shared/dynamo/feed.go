package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// The calendar feed's copy of the schedule: one state-table item, FEED / SCHEDULE,
// written by the scheduled runs (which read the whole schedule anyway) and by
// `schedule apply`, read by the public web function with one GetItem. So the web
// function never needs to Scan the schedule table: its IAM policy does not allow it.
const (
	feedPK = "FEED"
	feedSK = "SCHEDULE"
	// maxFeedBytes keeps the copy well inside DynamoDB's 400 KB item limit.
	maxFeedBytes = 350 << 10
)

// ErrFeedTooLarge means the rows do not fit in the feed's item.
var ErrFeedTooLarge = errors.New("the calendar feed's rows are over 350 KB")

// PublishFeed stores rows as the feed's copy of the schedule, unless the copy
// already holds exactly these rows (one conditional write, which fails cheaply
// when nothing changed).
func (s *Store) PublishFeed(ctx context.Context, rows []group.Row, now time.Time) error {
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b group.Row) int {
		return strings.Compare(a[group.FieldMeetingID].Text, b[group.FieldMeetingID].Text)
	})
	body, err := json.Marshal(sorted)
	if err != nil {
		return fmt.Errorf("publish feed: %w", err)
	}
	if len(body) > maxFeedBytes {
		return fmt.Errorf("publish feed: %d rows, %d bytes: %w", len(rows), len(body), ErrFeedTooLarge)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	item := key(feedPK, feedSK)
	item["rows"] = &types.AttributeValueMemberS{Value: string(body)}
	item["hash"] = &types.AttributeValueMemberS{Value: hash}
	item["updated_at"] = &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339)}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.StateTable,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #h <> :h"),
		ExpressionAttributeNames:  map[string]string{"#h": "hash"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: hash}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("publish feed: %w", err)
	}
	return nil
}

// FeedRows is the feed's copy of the schedule (none before the first publish).
func (s *Store) FeedRows(ctx context.Context) ([]group.Row, error) {
	var it struct {
		Rows string `dynamodbav:"rows"`
	}
	err := s.get(ctx, feedPK, feedSK, &it)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the calendar feed's rows: %w", err)
	}
	var rows []group.Row
	if err := json.Unmarshal([]byte(it.Rows), &rows); err != nil {
		return nil, fmt.Errorf("read the calendar feed's rows: %w", err)
	}
	return rows, nil
}
