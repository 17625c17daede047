package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

const membersPK = "MEMBERS"

type memberItem struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Email    string    `dynamodbav:"email"`
	Name     string    `dynamodbav:"name"`
	Status   string    `dynamodbav:"status"`
	JoinedAt time.Time `dynamodbav:"joined_at"`
	Muted    []string  `dynamodbav:"muted,omitempty,stringset"`
	// UpdatedAt is when status or preferences last changed.
	UpdatedAt time.Time `dynamodbav:"updated_at"`
	// JoinName is the name given with the latest join request a confirmation was
	// sent for (join.go); ConfirmJoin makes it the name.
	JoinName string `dynamodbav:"join_name,omitempty"`
}

func (it memberItem) member() group.Member {
	m := group.Member{ID: it.SK, Email: it.Email, Name: it.Name, Status: it.Status, JoinedAt: it.JoinedAt, JoinName: it.JoinName}
	for _, k := range it.Muted {
		m.Muted = append(m.Muted, group.Kind(k))
	}
	return m
}

// AddMember creates a member if no member has that address yet (in any letter case).
// It reports false for an existing member, whose status is left as it is: importing
// a list again never re-subscribes someone who left.
func (s *Store) AddMember(ctx context.Context, m group.Member) (bool, error) {
	m.Email = group.NormalizeEmail(m.Email)
	m.ID = group.MemberID(m.Email)
	if m.Status == "" {
		m.Status = group.MemberActive
	}
	item, err := attributevalue.MarshalMap(memberItem{PK: membersPK, SK: m.ID, Email: m.Email, Name: m.Name, Status: m.Status, JoinedAt: m.JoinedAt.UTC(), UpdatedAt: m.JoinedAt.UTC()})
	if err != nil {
		return false, err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.StateTable,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add member %s: %w", m.ID, err)
	}
	return true, nil
}

// Member reads one member by id.
func (s *Store) Member(ctx context.Context, id string) (group.Member, error) {
	var it memberItem
	if err := s.get(ctx, membersPK, id, &it); err != nil {
		if errors.Is(err, ErrNotFound) {
			return group.Member{}, ErrNotFound
		}
		return group.Member{}, fmt.Errorf("read member %s: %w", clip(id), err)
	}
	return it.member(), nil
}

// MembersPage reads up to limit members after the cursor, in id order: keyset
// pagination, so a campaign never holds the whole list in memory.
func (s *Store) MembersPage(ctx context.Context, after string, limit int) ([]group.Member, string, error) {
	out, next, err := pageOf(ctx, s, membersPK, "", after, limit, memberItem.member)
	if err != nil {
		return nil, "", fmt.Errorf("list members: %w", err)
	}
	return out, next, nil
}

// Members reads the members with the given ids; missing ones are left out.
func (s *Store) Members(ctx context.Context, ids []string) (map[string]group.Member, error) {
	out := make(map[string]group.Member, len(ids))
	err := batchGetPartition(ctx, s, membersPK, ids, func(it memberItem) { out[it.SK] = it.member() })
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	return out, nil
}

// SetMemberStatus changes whether a member gets email (active / unsubscribed), as
// the member asks on the unsubscribe page. A suppressed member is left as they are
// (ErrSuppressed): only an organizer can make them active again (Reactivate).
func (s *Store) SetMemberStatus(ctx context.Context, id, status string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(membersPK, id),
		UpdateExpression:         aws.String("SET #s = :s, updated_at = :now"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #s <> :suppressed"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":          &types.AttributeValueMemberS{Value: status},
			":now":        &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			":suppressed": &types.AttributeValueMemberS{Value: group.MemberSuppressed},
		},
	})
	if isConditionFailed(err) {
		return s.whyRefused(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("set member %s status: %w", id, err)
	}
	return nil
}

// Rename sets a member's name: the organizer's correction (`afterparty members
// rename`). A name from a join request not confirmed yet is dropped, so confirming
// it later does not undo the correction. ErrNotFound if there is no such member.
func (s *Store) Rename(ctx context.Context, id, name string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(membersPK, id),
		UpdateExpression:         aws.String("SET #n = :name, updated_at = :now REMOVE join_name"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":name": &types.AttributeValueMemberS{Value: name},
			":now":  &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		},
	})
	if isConditionFailed(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("rename member %s: %w", id, err)
	}
	return s.dropJoinName(ctx, id)
}
