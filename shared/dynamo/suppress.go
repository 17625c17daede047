package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// ErrSuppressed is returned when a member's own action (a link, the join form)
// would make a suppressed member active again: only an organizer may (Reactivate).
var ErrSuppressed = group.ErrSuppressed

// ErrNotSuppressed is returned by Reactivate for a member who is not suppressed.
var ErrNotSuppressed = errors.New("the member is not suppressed")

// whyRefused tells, after a member update's condition failed, whether the member is
// missing (ErrNotFound) or suppressed (ErrSuppressed).
func (s *Store) whyRefused(ctx context.Context, id string) error {
	m, err := s.Member(ctx, id)
	switch {
	case err != nil:
		return err
	case m.Status == group.MemberSuppressed:
		return ErrSuppressed
	}
	return fmt.Errorf("update member %s: condition failed, status %s", id, m.Status)
}

// Suppression is why and when a member was suppressed.
type Suppression struct {
	Reason string    `dynamodbav:"suppressed_because"`
	At     time.Time `dynamodbav:"suppressed_at"`
}

// Reactivate makes a suppressed member active again: the organizer's decision
// (`afterparty members reactivate`), never a link's. It returns why and when they
// had been suppressed (kept as last_suppressed_because / last_suppressed_at) and
// clears their soft-bounce count. ErrNotSuppressed if they are not suppressed,
// ErrNotFound if there is no such member.
func (s *Store) Reactivate(ctx context.Context, id string, now time.Time) (Suppression, error) {
	at := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable,
		Key:       key(membersPK, id),
		UpdateExpression: aws.String("SET #s = :active, updated_at = :now, reactivated_at = :now, " +
			"last_suppressed_because = if_not_exists(suppressed_because, :unknown), last_suppressed_at = if_not_exists(suppressed_at, :now) " +
			"REMOVE suppressed_because, suppressed_at, soft_bounces"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #s = :suppressed"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":active":     &types.AttributeValueMemberS{Value: group.MemberActive},
			":suppressed": &types.AttributeValueMemberS{Value: group.MemberSuppressed},
			":unknown":    &types.AttributeValueMemberS{Value: "unknown"},
			":now":        at,
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		if _, err := s.Member(ctx, id); err != nil {
			return Suppression{}, err
		}
		return Suppression{}, ErrNotSuppressed
	}
	if err != nil {
		return Suppression{}, fmt.Errorf("reactivate member %s: %w", id, err)
	}
	var why Suppression
	if err := attributevalue.UnmarshalMap(res.Attributes, &why); err != nil {
		return Suppression{}, fmt.Errorf("reactivate member %s: read the suppression: %w", id, err)
	}
	return why, nil
}

// Suppress stops all email to a member at once, whatever their status was, and
// records why (a hard bounce, a complaint, too many soft bounces). An address
// that only asked to join (its confirmation bounced, or was reported as spam)
// becomes a suppressed member, so the form never emails it again. ErrNotFound if
// there is no such member and no join request.
func (s *Store) Suppress(ctx context.Context, id, reason string, now time.Time) error {
	err := s.suppressMember(ctx, id, reason, now)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	var req joinItem
	if err := s.get(ctx, joinsPK, id, &req); err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(memberItem{PK: membersPK, SK: id, Email: req.Email, Name: req.JoinName, Status: group.MemberSuppressed,
		JoinedAt: now.UTC(), UpdatedAt: now.UTC()})
	if err != nil {
		return err
	}
	item["suppressed_because"] = &types.AttributeValueMemberS{Value: reason}
	item["suppressed_at"] = &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) { // confirmed meanwhile: suppress the member
		return s.suppressMember(ctx, id, reason, now)
	}
	if err != nil {
		return fmt.Errorf("suppress join request %s: %w", id, err)
	}
	return nil
}

func (s *Store) suppressMember(ctx context.Context, id, reason string, now time.Time) error {
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
