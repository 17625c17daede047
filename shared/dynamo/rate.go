package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// The account's send timeline: one item every running invocation of every function
// reserves its send slots on, so that together they stay at or under SES's
// MaxSendRate and its 24-hour quota.
const (
	ratePK = "RATE"
	rateSK = "ACCOUNT"
)

// RateState is the shared send timeline: the next free send slot and how many sends
// the 24-hour quota has left (as read from SES at LeftAt, minus every slot reserved
// since). Exists is false before the first reservation.
type RateState = group.RateState

// ErrRateMoved is a reservation that lost the race: another invocation moved the
// timeline since it was read. Read it again and retry.
var ErrRateMoved = group.ErrRateMoved

// SendRate reads the shared send timeline (a strongly consistent read).
func (s *Store) SendRate(ctx context.Context) (RateState, error) {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.StateTable, Key: key(ratePK, rateSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return RateState{}, fmt.Errorf("read the shared send rate: %w", err)
	}
	if res.Item == nil {
		return RateState{}, nil
	}
	num := func(name string) (int64, error) {
		v, ok := res.Item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("read the shared send rate: attribute %s missing or not a number", name)
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	var st RateState
	next, err := num("next_us")
	if err != nil {
		return st, err
	}
	left, err := num("left")
	if err != nil {
		return st, err
	}
	leftAt, err := num("left_at")
	if err != nil {
		return st, err
	}
	return RateState{Exists: true, Next: time.UnixMicro(next), Left: left, LeftAt: time.UnixMilli(leftAt)}, nil
}

// MoveSendRate replaces the timeline seen with next, only if no one moved it since
// (ErrRateMoved otherwise): one conditional write.
func (s *Store) MoveSendRate(ctx context.Context, seen, next RateState) error {
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ratePK, rateSK),
		UpdateExpression:         aws.String("SET next_us = :next, #left = :left, left_at = :at"),
		ExpressionAttributeNames: map[string]string{"#left": "left"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next": n(next.Next.UnixMicro()), ":left": n(next.Left), ":at": n(next.LeftAt.UnixMilli()),
		},
	}
	if seen.Exists {
		in.ConditionExpression = aws.String("next_us = :seen_next AND #left = :seen_left")
		in.ExpressionAttributeValues[":seen_next"] = n(seen.Next.UnixMicro())
		in.ExpressionAttributeValues[":seen_left"] = n(seen.Left)
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	_, err := s.DB.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return ErrRateMoved
	}
	if err != nil {
		return fmt.Errorf("reserve send slots on the shared send rate: %w", err)
	}
	return nil
}
