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

// Stay in touch (/met). State table items:
//
//	PROFILES       / <member id>           listed, line, blocked (string set): remembered across meetings
//	MEETING#<id>   / MET#<member id>       ticked (string set, at most group.MaxTicks)
//	MEETING#<id>   / INTRO#<low>#<high>    a mutual introduction to send (the intent)
//
// Two members ticking each other at the same moment both try to create the pair's
// INTRO item with one conditional PutItem; exactly one succeeds, and the ledger
// (SEND#<id>#introduction) sends each side's email once.
const (
	profilesPK  = "PROFILES"
	metPrefix   = "MET#"
	introPrefix = "INTRO#"
)

// ErrTooManyTicks is a tick beyond group.MaxTicks for one member and meeting.
var ErrTooManyTicks = group.ErrTooManyTicks

type profileItem struct {
	SK      string   `dynamodbav:"sk"`
	Listed  bool     `dynamodbav:"listed"`
	Line    string   `dynamodbav:"line"`
	Blocked []string `dynamodbav:"blocked,stringset,omitempty"`
}

func (it profileItem) profile() group.Profile {
	return group.Profile{MemberID: it.SK, Listed: it.Listed, Line: it.Line, Blocked: it.Blocked}
}

// Profile reads a member's /met choice; a member who never chose is unlisted.
func (s *Store) Profile(ctx context.Context, memberID string) (group.Profile, error) {
	var it profileItem
	err := s.get(ctx, profilesPK, memberID, &it)
	if errors.Is(err, ErrNotFound) {
		return group.Profile{MemberID: memberID}, nil
	}
	if err != nil {
		return group.Profile{}, fmt.Errorf("read profile %s: %w", memberID, err)
	}
	return it.profile(), nil
}

// Profiles reads the /met choices of the given members (BatchGetItem); members who
// never chose are left out.
func (s *Store) Profiles(ctx context.Context, ids []string) (map[string]group.Profile, error) {
	out := make(map[string]group.Profile, len(ids))
	err := batchGetPartition(ctx, s, profilesPK, ids, func(it profileItem) { out[it.SK] = it.profile() })
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	return out, nil
}

// SetListing lists or unlists a member on every /met page, with their line.
func (s *Store) SetListing(ctx context.Context, memberID string, listed bool, line string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.StateTable,
		Key:              key(profilesPK, memberID),
		UpdateExpression: aws.String("SET listed = :l, line = :line, updated_at = :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":l":    &types.AttributeValueMemberBOOL{Value: listed},
			":line": str(line),
			":now":  str(now.UTC().Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		return fmt.Errorf("set listing of %s: %w", memberID, err)
	}
	return nil
}

// Block adds other to the member's blocked set: neither sees the other on /met
// again, and no introduction is made between them.
func (s *Store) Block(ctx context.Context, memberID, other string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.StateTable,
		Key:              key(profilesPK, memberID),
		UpdateExpression: aws.String("SET updated_at = :now ADD blocked :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":b":   &types.AttributeValueMemberSS{Value: []string{other}},
			":now": str(now.UTC().Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		return fmt.Errorf("block for %s: %w", memberID, err)
	}
	return nil
}

type metItem struct {
	SK     string   `dynamodbav:"sk"`
	Ticked []string `dynamodbav:"ticked,stringset,omitempty"`
}

// Ticks reads whom a member ticked for a meeting.
func (s *Store) Ticks(ctx context.Context, meetingID, memberID string) ([]string, error) {
	var it metItem
	err := s.get(ctx, meetingPK(meetingID), metPrefix+memberID, &it)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ticks %s/%s: %w", meetingID, memberID, err)
	}
	return it.Ticked, nil
}

// Tick adds other to the member's ticks for a meeting: one conditional write, so
// the member never holds more than group.MaxTicks however many requests race
// (ErrTooManyTicks). Ticking someone already ticked changes nothing.
func (s *Store) Tick(ctx context.Context, meetingID, memberID, other string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.StateTable,
		Key:                 key(meetingPK(meetingID), metPrefix+memberID),
		UpdateExpression:    aws.String("SET updated_at = :now ADD ticked :o"),
		ConditionExpression: aws.String("attribute_not_exists(ticked) OR size(ticked) < :max OR contains(ticked, :id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":o":   &types.AttributeValueMemberSS{Value: []string{other}},
			":id":  str(other),
			":max": num(group.MaxTicks),
			":now": str(now.UTC().Format(time.RFC3339Nano)),
		},
	})
	if isConditionFailed(err) {
		return ErrTooManyTicks
	}
	if err != nil {
		return fmt.Errorf("tick %s/%s: %w", meetingID, memberID, err)
	}
	return nil
}

// Untick removes others from the member's ticks for a meeting.
func (s *Store) Untick(ctx context.Context, meetingID, memberID string, others []string, now time.Time) error {
	if len(others) == 0 {
		return nil
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.StateTable,
		Key:              key(meetingPK(meetingID), metPrefix+memberID),
		UpdateExpression: aws.String("SET updated_at = :now DELETE ticked :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":o":   &types.AttributeValueMemberSS{Value: others},
			":now": str(now.UTC().Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		return fmt.Errorf("untick %s/%s: %w", meetingID, memberID, err)
	}
	return nil
}

// ClearTicks removes every tick of the member for a meeting (withdrawal).
func (s *Store) ClearTicks(ctx context.Context, meetingID, memberID string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(meetingPK(meetingID), metPrefix+memberID),
		UpdateExpression:          aws.String("SET updated_at = :now REMOVE ticked"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(now.UTC().Format(time.RFC3339Nano))},
	})
	if err != nil {
		return fmt.Errorf("clear ticks %s/%s: %w", meetingID, memberID, err)
	}
	return nil
}

func introSK(p group.Pair) string { return introPrefix + p.Low + "#" + p.High }

// RecordIntroduction records that a pair ticked each other: a conditional PutItem on
// the pair's item, so of any number of racing callers exactly one gets true.
func (s *Store) RecordIntroduction(ctx context.Context, meetingID string, p group.Pair, now time.Time) (bool, error) {
	if p.Low == "" || p.High == "" || p.Low == p.High {
		return false, fmt.Errorf("record introduction %s: not a pair of two members", meetingID)
	}
	item := key(meetingPK(meetingID), introSK(p))
	item["low"], item["high"] = str(p.Low), str(p.High)
	item["at"] = str(now.UTC().Format(time.RFC3339Nano))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.StateTable,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record introduction %s: %w", meetingID, err)
	}
	return true, nil
}

// introItem is a recorded introduction's pair.
type introItem struct {
	Low  string `dynamodbav:"low"`
	High string `dynamodbav:"high"`
}

func (it introItem) pair() group.Pair { return group.Pair{Low: it.Low, High: it.High} }

// IntroductionsPage reads up to limit recorded introductions of a meeting after the
// cursor (keyset).
func (s *Store) IntroductionsPage(ctx context.Context, meetingID, after string, limit int) ([]group.Pair, string, error) {
	out, next, err := pageOf(ctx, s, meetingPK(meetingID), introPrefix, after, limit, introItem.pair)
	if err != nil {
		return nil, "", fmt.Errorf("list introductions of %s: %w", meetingID, err)
	}
	return out, next, nil
}

// AttendancePage reads one page of a meeting's answers and pub answers (one Query
// over the PUB# and RSVP# items, keyset from after): those who said Yes, and those
// who said they are coming to the pub.
func (s *Store) AttendancePage(ctx context.Context, meetingID, after string, limit int) (yes []string, pub []string, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.StateTable,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   str(meetingPK(meetingID)),
			":from": str(pubPrefix),
			":to":   str("RSVP$"), // just after every RSVP# item ('$' follows '#')
		},
		ConsistentRead: aws.Bool(true),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	if after != "" {
		in.ExclusiveStartKey = key(meetingPK(meetingID), after)
	}
	res, err := s.DB.Query(ctx, in)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read attendance of %s: %w", meetingID, err)
	}
	for _, item := range res.Items {
		var it struct {
			SK     string `dynamodbav:"sk"`
			Answer string `dynamodbav:"answer"`
			Coming bool   `dynamodbav:"coming"`
		}
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, nil, "", err
		}
		switch {
		case strings.HasPrefix(it.SK, rsvpPrefix) && it.Answer == string(group.Yes):
			yes = append(yes, strings.TrimPrefix(it.SK, rsvpPrefix))
		case strings.HasPrefix(it.SK, pubPrefix) && it.Coming:
			pub = append(pub, strings.TrimPrefix(it.SK, pubPrefix))
		}
	}
	if v, ok := res.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok {
		next = v.Value
	}
	return yes, pub, next, nil
}

// Attendees reads every member who was at a meeting: Yes, or coming to the pub.
func (s *Store) Attendees(ctx context.Context, meetingID string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	after := ""
	for {
		yes, pub, next, err := s.AttendancePage(ctx, meetingID, after, 0)
		if err != nil {
			return nil, err
		}
		for _, id := range append(yes, pub...) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// ConnectionCounts counts a meeting's /met activity for organizers: how many of
// its attendees are listed, how many ticks, how many introductions. Never who.
func (s *Store) ConnectionCounts(ctx context.Context, meetingID string) (group.ConnectionCounts, error) {
	var c group.ConnectionCounts
	attendees, err := s.Attendees(ctx, meetingID)
	if err != nil {
		return c, err
	}
	profiles, err := s.Profiles(ctx, attendees)
	if err != nil {
		return c, err
	}
	for _, p := range profiles {
		if p.Listed {
			c.Listed++
		}
	}
	for _, prefix := range []string{metPrefix, introPrefix} {
		after := ""
		for {
			items, next, err := s.queryPage(ctx, meetingPK(meetingID), prefix, after, 0)
			if err != nil {
				return c, fmt.Errorf("count connections of %s: %w", meetingID, err)
			}
			for _, item := range items {
				if prefix == introPrefix {
					c.Introductions++
					continue
				}
				var it metItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return c, err
				}
				c.Ticks += len(it.Ticked)
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return c, nil
}

// TicksOf reads whom each of the given members ticked for a meeting (BatchGetItem):
// member -> ticked member -> true.
func (s *Store) TicksOf(ctx context.Context, meetingID string, ids []string) (map[string]map[string]bool, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, key(meetingPK(meetingID), metPrefix+id))
		}
	}
	out := make(map[string]map[string]bool, len(keys))
	err := s.batchGet(ctx, keys, func(item map[string]types.AttributeValue) error {
		var it metItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		set := map[string]bool{}
		for _, t := range it.Ticked {
			set[t] = true
		}
		out[strings.TrimPrefix(it.SK, metPrefix)] = set
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read ticks of %s: %w", meetingID, err)
	}
	return out, nil
}
