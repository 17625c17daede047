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

// Suppress stops all email to a member at once, whatever their status was, and
// records why (a hard bounce, a complaint, too many soft bounces). ErrNotFound if
// there is no such member.
func (s *Store) Suppress(ctx context.Context, id, reason string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(membersPK, id),
		UpdateExpression:         aws.String("SET #s = :s, suppressed_because = :why, suppressed_at = :now, updated_at = :now"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: group.MemberSuppressed},
			":why": &types.AttributeValueMemberS{Value: reason},
			":now": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		},
	})
	if isConditionFailed(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("suppress member %s: %w", id, err)
	}
	return nil
}

// SoftBounce counts a transient bounce against a member and returns the count so
// far. ErrNotFound if there is no such member.
func (s *Store) SoftBounce(ctx context.Context, id string, now time.Time) (int, error) {
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.StateTable,
		Key:                 key(membersPK, id),
		UpdateExpression:    aws.String("ADD soft_bounces :one SET last_soft_bounce_at = :now"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":now": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("count soft bounce of %s: %w", id, err)
	}
	n := 0
	if v, ok := out.Attributes["soft_bounces"].(*types.AttributeValueMemberN); ok {
		n, _ = strconv.Atoi(v.Value)
	}
	return n, nil
}
