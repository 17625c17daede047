package dynamo

// The outbox: member-triggered emails recorded as intents before the page that
// triggers them answers, and sent later through the send ledger by the outbox
// sweep (shared/cycle, SendNotices).
//
//	OUTBOX / <kind>#<...>   one intent; its sk is deterministic per email, so
//	                        recording the same email twice is a no-op
//
// An intent is deleted once the ledger shows it sent or failed, or when the sweep
// finds it no longer true (the member left the waitlist, the meeting started).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

const outboxPK = "OUTBOX"

// Intent kinds (group.Intent*).
const (
	IntentPromoted    = group.IntentPromoted
	IntentWaitlisted  = group.IntentWaitlisted
	IntentJoinConfirm = group.IntentJoinConfirm
	IntentWelcome     = group.IntentWelcome
)

// Intent is one email a member's action made due (group.Intent).
type Intent = group.Intent

// intentItem is an Intent as stored: OUTBOX / <key>.
type intentItem struct {
	Key       string    `dynamodbav:"sk"`
	Kind      string    `dynamodbav:"kind"`
	MemberID  string    `dynamodbav:"member_id"`
	MeetingID string    `dynamodbav:"meeting_id,omitempty"`
	Since     string    `dynamodbav:"since"`
	Position  int       `dynamodbav:"position,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

// NewIntent builds the intent of one email (group.NewIntent).
func NewIntent(kind, meetingID, memberID, since string, now time.Time) Intent {
	return group.NewIntent(kind, meetingID, memberID, since, now)
}

// IntentTime formats a time for Intent.Since (group.IntentTime).
func IntentTime(t time.Time) string { return group.IntentTime(t) }

// RecordIntent records an email to send, once: a second call with the same key
// changes nothing and reports false.
func (s *Store) RecordIntent(ctx context.Context, in Intent) (bool, error) {
	if in.Key == "" || in.Kind == "" || in.MemberID == "" || in.Since == "" {
		return false, fmt.Errorf("record %s email for %s: the intent lacks its key, kind, member or time", in.Kind, in.MemberID)
	}
	item, err := attributevalue.MarshalMap(intentItem(in))
	if err != nil {
		return false, fmt.Errorf("record %s email for %s: %w", in.Kind, in.MemberID, err)
	}
	item["pk"] = str(outboxPK)
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.StateTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record %s email for %s: %w", in.Kind, in.MemberID, err)
	}
	return true, nil
}

// recordPromotion records the "a place opened up" email of the member at the head
// of the queue, before the write that promotes them: a crash after the promotion
// cannot lose it, and a retried promotion of the same stint records the same key.
func (s *Store) recordPromotion(ctx context.Context, meetingID, memberID, entry string, now time.Time) (bool, error) {
	since, _, _ := strings.Cut(entry, "|")
	return s.RecordIntent(ctx, NewIntent(IntentPromoted, meetingID, memberID, since, now))
}

// IntentsPage reads one keyset page of the outbox, oldest kind first (by key).
func (s *Store) IntentsPage(ctx context.Context, after string, limit int) ([]Intent, string, error) {
	out, next, err := pageOf(ctx, s, outboxPK, "", after, limit, func(it intentItem) Intent { return Intent(it) })
	if err != nil {
		return nil, "", fmt.Errorf("read the outbox: %w", err)
	}
	return out, next, nil
}

// DropIntent deletes an intent (sent, failed, or no longer true). An intent that
// is already gone is no error.
func (s *Store) DropIntent(ctx context.Context, key string) error {
	if key == "" {
		return errors.New("drop an outbox intent: no key")
	}
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.StateTable, Key: map[string]types.AttributeValue{"pk": str(outboxPK), "sk": str(key)},
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("drop outbox intent %s: %w", key, err)
	}
	return nil
}

// PlaceOf reads one member's place from the COUNT item (the authority on
// places): seated, or on the waitlist since a time ("" when not queued).
func (s *Store) PlaceOf(ctx context.Context, meetingID, memberID string) (seated bool, queuedSince string, err error) {
	p, err := s.readPlaces(ctx, meetingID, memberID, true)
	if err != nil {
		return false, "", err
	}
	_, seated = p.Seats[memberID]
	return seated, p.QueuedSince(memberID), nil
}

// PendingJoin reads the join request an intent of the request at requestedAt is
// for: the person to send the confirmation to, and false when the request is gone
// (confirmed, expired) or was replaced by a later one (which has its own intent).
func (s *Store) PendingJoin(ctx context.Context, id, requestedAt string, now time.Time) (email, name string, ok bool, err error) {
	var req joinItem
	if err := s.get(ctx, joinsPK, id, &req); errors.Is(err, ErrNotFound) {
		return "", "", false, nil
	} else if err != nil {
		return "", "", false, fmt.Errorf("read join request %s: %w", clip(id), err)
	}
	if !req.live(now) || IntentTime(req.ConfirmSentAt) != requestedAt {
		return "", "", false, nil
	}
	return req.Email, req.JoinName, true, nil
}

// WaitlistPosition is a member's place on a meeting's waitlist (1 = next), 0 if
// they are not on it.
func (s *Store) WaitlistPosition(ctx context.Context, meetingID, memberID string) (int, error) {
	p, err := s.Places(ctx, meetingID)
	if err != nil {
		return 0, err
	}
	return p.Position(memberID), nil
}
