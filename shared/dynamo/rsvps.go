package dynamo

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

func meetingPK(id string) string { return "MEETING#" + id }

const (
	rsvpPrefix  = "RSVP#"
	pubPrefix   = "PUB#"
	clickPrefix = "CLICK#"
)

type rsvpItem struct {
	PK              string    `dynamodbav:"pk"`
	SK              string    `dynamodbav:"sk"`
	Answer          string    `dynamodbav:"answer"`
	AnsweredAt      time.Time `dynamodbav:"answered_at"`
	FirstAnsweredAt time.Time `dynamodbav:"first_answered_at"`
	Changes         int       `dynamodbav:"changes"`
	Guests          int       `dynamodbav:"guests"`
	Place           string    `dynamodbav:"place"` // mirrored from the COUNT item (capacity.go)
	Seats           int       `dynamodbav:"seats"`
	Source          string    `dynamodbav:"source,omitempty"` // where the latest answer came from (group.SourceLink, ...)
}

func (it rsvpItem) rsvp() group.RSVP {
	return group.RSVP{
		MeetingID:  strings.TrimPrefix(it.PK, "MEETING#"),
		MemberID:   strings.TrimPrefix(it.SK, rsvpPrefix),
		Answer:     group.Answer(it.Answer),
		AnsweredAt: it.AnsweredAt,
		Changes:    it.Changes,
		Guests:     it.Guests,
		Place:      it.Place,
		Seats:      it.Seats,
		Source:     it.Source,
	}
}

// SetRSVP records a member's answer with its time, as an answer's first write does
// (it counts the change and raises the answer's version), and nothing else: not the
// place. Tests use it to stand for a request that died between the answer and its
// place; Reconcile puts the place right.
func (s *Store) SetRSVP(ctx context.Context, meetingID, memberID string, a group.Answer, now time.Time) (group.RSVP, error) {
	at := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.StateTable,
		Key:              key(meetingPK(meetingID), rsvpPrefix+memberID),
		UpdateExpression: aws.String("SET answer = :a, answered_at = :now, first_answered_at = if_not_exists(first_answered_at, :now) ADD changes :one, version :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":a":   &types.AttributeValueMemberS{Value: string(a)},
			":now": at,
			":one": &types.AttributeValueMemberN{Value: "1"},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return group.RSVP{}, fmt.Errorf("record RSVP %s/%s: %w", meetingID, memberID, err)
	}
	var it rsvpItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return group.RSVP{}, err
	}
	s.logClick(ctx, meetingID, memberID, "rsvp:"+string(a), now)
	return it.rsvp(), nil
}

// logClick keeps every recorded click for the record. It is best effort: the answer
// itself is already stored, and a lost record must not fail the member's click, so a
// failed write is logged (member id, never the address) rather than returned.
func (s *Store) logClick(ctx context.Context, meetingID, memberID, action string, now time.Time) {
	item := key(meetingPK(meetingID), clickPrefix+now.UTC().Format(time.RFC3339Nano)+"#"+memberID)
	item["action"] = &types.AttributeValueMemberS{Value: action}
	item["member_id"] = &types.AttributeValueMemberS{Value: memberID}
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item}); err != nil {
		s.log().Warn("click not kept for the record; the answer itself is recorded",
			"meeting", meetingID, "member", memberID, "action", action, "error", err)
	}
}

// RSVP reads a member's answer; ErrNotFound when they have not answered.
func (s *Store) RSVP(ctx context.Context, meetingID, memberID string) (group.RSVP, error) {
	var it rsvpItem
	if err := s.get(ctx, meetingPK(meetingID), rsvpPrefix+memberID, &it); err != nil {
		if errors.Is(err, ErrNotFound) {
			return group.RSVP{}, ErrNotFound
		}
		return group.RSVP{}, fmt.Errorf("read RSVP %s/%s: %w", meetingID, memberID, err)
	}
	return it.rsvp(), nil
}

// RSVPsOf reads the answers of the given members for one meeting (BatchGetItem).
func (s *Store) RSVPsOf(ctx context.Context, meetingID string, memberIDs []string) (map[string]group.RSVP, error) {
	keys := make([]map[string]types.AttributeValue, len(memberIDs))
	for i, id := range memberIDs {
		keys[i] = key(meetingPK(meetingID), rsvpPrefix+id)
	}
	out := make(map[string]group.RSVP, len(memberIDs))
	err := s.batchGet(ctx, keys, func(item map[string]types.AttributeValue) error {
		var it rsvpItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		r := it.rsvp()
		out[r.MemberID] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read RSVPs of %s: %w", meetingID, err)
	}
	return out, nil
}

// RSVPsPage reads up to limit answers for a meeting after the cursor (keyset).
func (s *Store) RSVPsPage(ctx context.Context, meetingID, after string, limit int) ([]group.RSVP, string, error) {
	out, next, err := pageOf(ctx, s, meetingPK(meetingID), rsvpPrefix, after, limit, rsvpItem.rsvp)
	if err != nil {
		return nil, "", fmt.Errorf("list RSVPs of %s: %w", meetingID, err)
	}
	return out, next, nil
}

type pubItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Coming     bool      `dynamodbav:"coming"`
	AnsweredAt time.Time `dynamodbav:"answered_at"`
}

// SetPubAnswer records whether a member is coming to the after-party.
func (s *Store) SetPubAnswer(ctx context.Context, meetingID, memberID string, coming bool, now time.Time) error {
	item, err := attributevalue.MarshalMap(pubItem{PK: meetingPK(meetingID), SK: pubPrefix + memberID, Coming: coming, AnsweredAt: now.UTC()})
	if err != nil {
		return err
	}
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item}); err != nil {
		return fmt.Errorf("record pub answer %s/%s: %w", meetingID, memberID, err)
	}
	action := "pub:coming"
	if !coming {
		action = "pub:not-coming"
	}
	s.logClick(ctx, meetingID, memberID, action, now)
	return nil
}

// PubAnswer reads a member's pub answer; ErrNotFound when there is none.
func (s *Store) PubAnswer(ctx context.Context, meetingID, memberID string) (group.PubAnswer, error) {
	var it pubItem
	if err := s.get(ctx, meetingPK(meetingID), pubPrefix+memberID, &it); err != nil {
		return group.PubAnswer{}, err
	}
	return group.PubAnswer{MeetingID: meetingID, MemberID: memberID, Coming: it.Coming, AnsweredAt: it.AnsweredAt}, nil
}

// PubAnswers reads every pub answer of a meeting: whether each member who answered
// is coming. The after-party list is short, so one partition read serves it.
func (s *Store) PubAnswers(ctx context.Context, meetingID string) (map[string]bool, error) {
	out := map[string]bool{}
	after := ""
	for {
		items, next, err := s.queryPage(ctx, meetingPK(meetingID), pubPrefix, after, 0)
		if err != nil {
			return nil, fmt.Errorf("read pub answers of %s: %w", meetingID, err)
		}
		for _, item := range items {
			var it pubItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, err
			}
			out[strings.TrimPrefix(it.SK, pubPrefix)] = it.Coming
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}
