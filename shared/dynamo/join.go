package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// MemberPending is the status of someone who asked to join and has not confirmed
// their address yet: they get no group email until they confirm.
const MemberPending = "pending"

// ConfirmEvery is how often one address may be sent a join confirmation.
const ConfirmEvery = time.Hour

// RequestJoin records a request to join from the /join form and reports whether a
// confirmation email may be sent now: at most one per address per ConfirmEvery,
// enforced by a conditional write comparing the last request's time (no TTL). A new
// address becomes a pending member; an existing member keeps their status and
// name until they confirm (the name given is kept aside as join_name), so the form can neither subscribe nor unsubscribe
// anyone by itself. A suppressed address (it bounced, or its owner complained) is
// neither changed nor sent a confirmation: only an organizer can reactivate it.
func (s *Store) RequestJoin(ctx context.Context, email, name string, now time.Time) (group.Member, bool, error) {
	email = group.NormalizeEmail(email)
	id := group.MemberID(email)
	at := now.UTC().Format(time.RFC3339Nano)
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable,
		Key:       key(membersPK, id),
		UpdateExpression: aws.String("SET email = if_not_exists(email, :email), #n = if_not_exists(#n, :name), " +
			"#s = if_not_exists(#s, :pending), joined_at = if_not_exists(joined_at, :now), " +
			"updated_at = if_not_exists(updated_at, :now), confirm_sent_at = :now, join_name = :name"),
		ConditionExpression: aws.String("(attribute_not_exists(confirm_sent_at) OR confirm_sent_at < :since) AND " +
			"(attribute_not_exists(#s) OR #s <> :suppressed)"),
		ExpressionAttributeNames: map[string]string{"#n": "name", "#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":email": str(email), ":name": str(name), ":pending": str(MemberPending), ":now": str(at),
			":since":      str(now.Add(-ConfirmEvery).UTC().Format(time.RFC3339Nano)),
			":suppressed": str(group.MemberSuppressed),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return group.Member{ID: id, Email: email, Name: name}, false, nil
	}
	if err != nil {
		return group.Member{}, false, fmt.Errorf("request to join %s: %w", id, err)
	}
	var it memberItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return group.Member{}, false, err
	}
	return it.member(), true, nil
}

// ConfirmJoin makes a member active after they confirmed their address, with the
// name sent with the join request that was confirmed (the latest one emailed a
// confirmation: within the hour no other is recorded), not the first name anyone
// gave for the address. It reports whether they were not
// active before (so the welcome email goes out once per joining, not per click).
// ErrSuppressed for a suppressed member, who stays suppressed.
func (s *Store) ConfirmJoin(ctx context.Context, id string, now time.Time) (group.Member, bool, error) {
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(membersPK, id),
		UpdateExpression:         aws.String("SET #s = :active, #n = if_not_exists(join_name, #n), updated_at = :now, confirmed_at = :now REMOVE muted, join_name"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #s <> :suppressed"),
		ExpressionAttributeNames: map[string]string{"#s": "status", "#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":active": str(group.MemberActive), ":now": str(now.UTC().Format(time.RFC3339Nano)),
			":suppressed": str(group.MemberSuppressed),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return group.Member{}, false, s.whyRefused(ctx, id)
	}
	if err != nil {
		return group.Member{}, false, fmt.Errorf("confirm member %s: %w", id, err)
	}
	var it memberItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return group.Member{}, false, err
	}
	m := it.member()
	wasActive := m.Status == group.MemberActive
	if m.JoinName != "" {
		m.Name = m.JoinName
	}
	m.Status, m.Muted, m.JoinName = group.MemberActive, nil, ""
	return m, !wasActive, nil
}

// SetMuted replaces the message kinds a member asked not to get (group.Member.Muted,
// honoured by group.Recipient).
func (s *Store) SetMuted(ctx context.Context, id string, muted []group.Kind, now time.Time) error {
	in := &dynamodb.UpdateItemInput{
		TableName:           &s.StateTable,
		Key:                 key(membersPK, id),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression:    aws.String("SET updated_at = :now REMOVE muted"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": str(now.UTC().Format(time.RFC3339Nano)),
		},
	}
	if len(muted) > 0 {
		set := make([]string, len(muted))
		for i, k := range muted {
			set[i] = string(k)
		}
		in.UpdateExpression = aws.String("SET updated_at = :now, muted = :muted")
		in.ExpressionAttributeValues[":muted"] = &types.AttributeValueMemberSS{Value: set}
	}
	_, err := s.DB.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set member %s preferences: %w", id, err)
	}
	return nil
}
