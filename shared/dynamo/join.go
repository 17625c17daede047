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

// MemberPending is the status of someone who asked to join and has not confirmed
// their address yet: they get no group email until they confirm.
const MemberPending = group.MemberPending

// ConfirmEvery is how often one address may be sent a join confirmation.
const ConfirmEvery = time.Hour

// JoinLinkLife is how long a join confirmation link works; a join request (a
// pending sign-up) lives as long, from its latest confirmation email.
const JoinLinkLife = group.JoinLinkLife

// joinsPK is the partition of join requests not confirmed yet, one item per member
// id. They are not in the members partition, so campaigns (MembersPage) never read
// them, however many the form receives.
const joinsPK = "JOINS"

type joinItem struct {
	PK            string    `dynamodbav:"pk"`
	SK            string    `dynamodbav:"sk"`
	Email         string    `dynamodbav:"email"`
	JoinName      string    `dynamodbav:"join_name,omitempty"`
	ConfirmSentAt time.Time `dynamodbav:"confirm_sent_at"`
	// Expires (epoch seconds) is when the request's latest confirmation link stops
	// working; a TTL on it may delete the item, nothing depends on that: readers
	// compare it.
	Expires int64 `dynamodbav:"expires"`
}

func (it joinItem) live(now time.Time) bool { return it.SK != "" && now.Unix() < it.Expires }

// RequestJoin records a request to join from the /join form and reports whether a
// confirmation email may be sent now: at most one per address per ConfirmEvery,
// enforced by a conditional write comparing the last request's time (no TTL). The
// request is kept in its own partition (JOINS) until JoinLinkLife after its latest
// confirmation email; only ConfirmJoin makes a member of it, so the form can neither
// subscribe nor unsubscribe anyone by itself, and an existing member keeps their
// status and name until they confirm. An address that unsubscribed may ask again.
// A suppressed address (it bounced, or its owner complained) is neither changed nor
// sent a confirmation: only an organizer can reactivate it.
func (s *Store) RequestJoin(ctx context.Context, email, name string, now time.Time) (group.Member, bool, error) {
	email = group.NormalizeEmail(email)
	id := group.MemberID(email)
	m, err := s.Member(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		m = group.Member{ID: id, Email: email, Name: name, Status: MemberPending}
	case err != nil:
		return group.Member{}, false, fmt.Errorf("request to join %s: %w", id, err)
	case m.Status == group.MemberSuppressed:
		return m, false, nil
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.StateTable,
		Key:                 key(joinsPK, id),
		UpdateExpression:    aws.String("SET email = :email, join_name = :name, confirm_sent_at = :now, expires = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(confirm_sent_at) OR confirm_sent_at < :since"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":email": str(email), ":name": str(name), ":now": str(now.UTC().Format(time.RFC3339Nano)),
			":since": str(now.Add(-ConfirmEvery).UTC().Format(time.RFC3339Nano)),
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(JoinLinkLife).Unix(), 10)},
		},
	})
	if isConditionFailed(err) {
		return m, false, nil
	}
	if err != nil {
		return group.Member{}, false, fmt.Errorf("request to join %s: %w", id, err)
	}
	m.JoinName = name
	return m, true, nil
}

// JoinRequest is what a join confirmation link shows: the member (if any) with
// the name of their live join request as JoinName, or, for an address that is no
// member yet, a pending member made of the request. ErrNotFound when there is
// neither (the request expired, JoinLinkLife after its latest email).
func (s *Store) JoinRequest(ctx context.Context, id string, now time.Time) (group.Member, error) {
	var req joinItem
	if err := s.get(ctx, joinsPK, id, &req); err != nil && !errors.Is(err, ErrNotFound) {
		return group.Member{}, fmt.Errorf("read join request %s: %w", clip(id), err)
	}
	m, err := s.Member(ctx, id)
	if errors.Is(err, ErrNotFound) {
		if !req.live(now) {
			return group.Member{}, ErrNotFound
		}
		return group.Member{ID: id, Email: req.Email, Name: req.JoinName, Status: MemberPending, JoinName: req.JoinName}, nil
	}
	if err != nil {
		return group.Member{}, err
	}
	m.JoinName = ""
	if req.live(now) {
		m.JoinName = req.JoinName
	}
	return m, nil
}

// ConfirmJoin makes a member active after they confirmed their address, with the
// name sent with the join request that was confirmed (the latest one emailed a
// confirmation: within the hour no other is recorded), not the first name anyone
// gave for the address. The request must be live (JoinLinkLife after its latest
// email); it is then removed. It reports whether they were not active before (so
// the welcome email goes out once per joining, not per click). A second click
// finds the member active and no request: (member, false, nil). ErrSuppressed for
// a suppressed member, who stays suppressed; ErrNotFound with no live request.
func (s *Store) ConfirmJoin(ctx context.Context, id string, now time.Time) (group.Member, bool, error) {
	var req joinItem
	if err := s.get(ctx, joinsPK, id, &req); err != nil && !errors.Is(err, ErrNotFound) {
		return group.Member{}, false, fmt.Errorf("read join request %s: %w", clip(id), err)
	}
	if !req.live(now) {
		m, err := s.Member(ctx, id)
		switch {
		case err != nil:
			return group.Member{}, false, err
		case m.Status == group.MemberSuppressed:
			return group.Member{}, false, ErrSuppressed
		case m.Status == group.MemberActive:
			return m, false, nil
		}
		return group.Member{}, false, ErrNotFound
	}
	at := str(now.UTC().Format(time.RFC3339Nano))
	update := "SET email = if_not_exists(email, :email), #s = :active, joined_at = if_not_exists(joined_at, :now), " +
		"updated_at = :now, confirmed_at = :now"
	vals := map[string]types.AttributeValue{
		":active": str(group.MemberActive), ":now": at, ":email": str(req.Email), ":suppressed": str(group.MemberSuppressed),
	}
	names := map[string]string{"#s": "status", "#n": "name"}
	if req.JoinName != "" {
		update += ", #n = :name"
		vals[":name"] = str(req.JoinName)
	} else {
		update += ", #n = if_not_exists(#n, :email)"
	}
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(membersPK, id),
		UpdateExpression:          aws.String(update + " REMOVE muted, join_name"),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #s <> :suppressed"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return group.Member{}, false, ErrSuppressed
	}
	if err != nil {
		return group.Member{}, false, fmt.Errorf("confirm member %s: %w", id, err)
	}
	var old memberItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &old); err != nil {
		return group.Member{}, false, err
	}
	m := group.Member{ID: id, Email: old.Email, Name: old.Name, Status: group.MemberActive, JoinedAt: old.JoinedAt}
	if m.Email == "" {
		m.Email, m.Name, m.JoinedAt = req.Email, req.Email, now.UTC()
	}
	if req.JoinName != "" {
		m.Name = req.JoinName
	}
	// The request is used up. Only this one: one sent since (a new email) stays.
	_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.StateTable, Key: key(joinsPK, id),
		ConditionExpression:       aws.String("confirm_sent_at = :sent"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":sent": str(req.ConfirmSentAt.UTC().Format(time.RFC3339Nano))},
	})
	if err != nil && !isConditionFailed(err) {
		return group.Member{}, false, fmt.Errorf("remove confirmed join request %s: %w", id, err)
	}
	return m, old.Status != group.MemberActive, nil
}

// dropJoinName keeps a live join request from renaming the member when confirmed:
// an organizer's rename wins over a request made before it.
func (s *Store) dropJoinName(ctx context.Context, id string) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable, Key: key(joinsPK, id),
		UpdateExpression:    aws.String("REMOVE join_name"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("drop the join request's name for %s: %w", id, err)
	}
	return nil
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
