package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// joinLimitPK is the partition of the /join counters: one item per client and
// hour (IP#<client>#<hour>) and one per hour for all clients (GLOBAL#<hour>).
const joinLimitPK = "JOINLIMIT"

// JoinLimitWindow is the window of the /join counters: the UTC clock hour.
const JoinLimitWindow = time.Hour

// CountJoinRequest counts one /join request from a client (the caller's source IP)
// in the current hour and reports whether it is within limit requests for that
// client and hour. It is a single conditional write on the counter for that client
// and hour: concurrent requests never pass the limit together.
func (s *Store) CountJoinRequest(ctx context.Context, client string, limit int, now time.Time) (bool, error) {
	if client == "" {
		client = "unknown" // DynamoDB refuses no key part, but keep the key readable
	}
	return s.countJoin(ctx, "IP#"+client+"#"+hourOf(now), limit, now)
}

// CountJoinEmail counts one join confirmation email for the whole group in the
// current hour and reports whether it is within limit emails for that hour.
func (s *Store) CountJoinEmail(ctx context.Context, limit int, now time.Time) (bool, error) {
	return s.countJoin(ctx, "GLOBAL#"+hourOf(now), limit, now)
}

func hourOf(now time.Time) string { return now.UTC().Truncate(JoinLimitWindow).Format("2006-01-02T15") }

// countJoin adds one to a window's counter unless it reached limit. The window
// is in the key, so an old window's item is never read again; expires (epoch
// seconds, the end of the window) lets a TTL delete it, and nothing depends on that.
func (s *Store) countJoin(ctx context.Context, sk string, limit int, now time.Time) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	end := now.UTC().Truncate(JoinLimitWindow).Add(JoinLimitWindow)
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.StateTable,
		Key:                 key(joinLimitPK, sk),
		UpdateExpression:    aws.String("SET n = if_not_exists(n, :zero) + :one, expires = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(n) OR n < :limit"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero":  &types.AttributeValueMemberN{Value: "0"},
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(limit)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(end.Unix(), 10)},
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("count a /join request or email: %w", err)
	}
	return true, nil
}
