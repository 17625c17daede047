// Package dynamo is afterparty's DynamoDB adapter: the schedule table (organizers'
// rows, key meeting_id) and the state table (members, RSVPs, pub answers, the send
// ledger and campaign progress, key pk+sk). Every write that must not race is a
// single-item conditional write; nothing depends on TTL or transactions.
//
// State table layout (pk / sk):
//
//	MEMBERS             / <member id>             a member
//	MEETING#<id>        / RSVP#<member id>        latest RSVP of a member
//	MEETING#<id>        / PUB#<member id>         "I'm coming to the pub"
//	MEETING#<id>        / COUNT                   places and waitlist (capacity.go)
//	MEETING#<id>        / CLICK#<time>#<member>   every recorded click, for the record
//	MEETING#<id>        / CAMPAIGN#<kind>         a campaign's progress (cursor, counts)
//	MEETING#<id>        / ANNOUNCED               what calendars were told: SEQUENCE, state (announce.go)
//	SEND#<id>#<kind>    / <member id>             the send ledger: claimed / sent / failed
//	ICEBREAKERS         / <meeting id>            the question a meeting got from the bank
//	QUESTIONS           / <question id>           an organizer's own icebreaker question (questions.go)
//	OUTBOX              / <kind>#...#<time>       an email a member's action made due, until sent (outbox.go)
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/afterparty/afterparty/shared/group"
)

// API is the part of the DynamoDB client the store uses, shaped like the SDK.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store reads and writes both tables.
type Store struct {
	DB            API
	ScheduleTable string
	StateTable    string
	// Log takes what the store does not fail a call for (a lost click record);
	// slog.Default() when nil.
	Log *slog.Logger
}

func (s *Store) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// New makes a store over the two tables.
func New(db API, scheduleTable, stateTable string) *Store {
	return &Store{DB: db, ScheduleTable: scheduleTable, StateTable: stateTable}
}

// ErrNotFound is returned when an item does not exist.
var ErrNotFound = group.ErrNotFound

// ErrInvalid is returned when DynamoDB refuses the request itself (a
// ValidationException: a key too long, an empty key value): the caller's mistake,
// which a retry cannot mend, not an outage.
var ErrInvalid = group.ErrInvalid

// classify marks a ValidationException as ErrInvalid; other errors pass through.
func classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" {
		return fmt.Errorf("%w: %s", ErrInvalid, api.ErrorMessage())
	}
	return err
}

// clip shortens a key for an error message or a log line: it may come from a URL,
// and a whole untrusted value does not belong in a log.
func clip(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	i := keep
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:i], len(s))
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) error {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.StateTable, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return classify(err)
	}
	if res.Item == nil {
		return ErrNotFound
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// batchGet reads up to any number of state-table items by key, 100 at a time,
// retrying unprocessed keys, and calls each for every item found.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		pending := keys[start:min(start+100, len(keys))]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return err
				}
			}
			if attempt > 8 {
				return fmt.Errorf("batch get: %d keys still unprocessed after retries", len(pending))
			}
			res, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.StateTable: {Keys: pending, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return fmt.Errorf("batch get: %w", err)
			}
			for _, item := range res.Responses[s.StateTable] {
				if err := each(item); err != nil {
					return err
				}
			}
			pending = res.UnprocessedKeys[s.StateTable].Keys
		}
	}
	return nil
}

// batchGetPartition reads the items of one partition with the given sort keys
// (BatchGetItem), decoding each into a T for each. Empty and repeated ids are
// dropped first: DynamoDB refuses a batch with either.
func batchGetPartition[T any](ctx context.Context, s *Store, pk string, ids []string, each func(T)) error {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, key(pk, id))
		}
	}
	return s.batchGet(ctx, keys, func(item map[string]types.AttributeValue) error {
		var it T
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		each(it)
		return nil
	})
}

func backoff(attempt int) time.Duration {
	d := 25 * time.Millisecond << min(attempt, 6)
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pageOf reads one keyset page of a partition (queryPage) and decodes each item
// into a T, which conv turns into what the caller returns.
func pageOf[T, R any](ctx context.Context, s *Store, pk, prefix, after string, limit int, conv func(T) R) ([]R, string, error) {
	items, next, err := s.queryPage(ctx, pk, prefix, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]R, 0, len(items))
	for _, item := range items {
		var it T
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, "", err
		}
		out = append(out, conv(it))
	}
	return out, next, nil
}

// same returns its argument: the conv of pageOf for items decoded as they are.
func same[T any](v T) T { return v }

// queryPage reads one page of a partition, from after (an sk, exclusive; "" for the
// start) with sk beginning with prefix, and returns the next cursor ("" at the end).
func (s *Store) queryPage(ctx context.Context, pk, prefix, after string, limit int) ([]map[string]types.AttributeValue, string, error) {
	// DynamoDB refuses an empty string as a key attribute value, in a key condition
	// too, so a whole partition is read with the partition key alone.
	in := &dynamodb.QueryInput{
		TableName:                 &s.StateTable,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = &types.AttributeValueMemberS{Value: prefix}
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	if after != "" {
		in.ExclusiveStartKey = key(pk, after)
	}
	res, err := s.DB.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if res.LastEvaluatedKey != nil {
		if v, ok := res.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok {
			next = v.Value
		}
	}
	return res.Items, next, nil
}
