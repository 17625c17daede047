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

// Send states in the ledger.
const (
	SendClaimed = group.SendClaimed // a worker is sending it right now (until claim_until)
	SendSent    = group.SendSent    // SES accepted it: never send again
	SendFailed  = group.SendFailed  // SES rejected the address: never retried automatically
)

// ErrClaimed is a claim that failed: the message is sent, failed, or being sent by
// a live worker. Either way it is not this worker's to send.
var ErrClaimed = group.ErrClaimed

// SendRecord is one (meeting, message, member) entry of the send ledger.
type SendRecord = group.SendRecord

// sendItem is a SendRecord as stored: SEND#<campaign> / <member id>.
type sendItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	State      string    `dynamodbav:"state"`
	ClaimUntil int64     `dynamodbav:"claim_until"` // unix ms; a stale claim may be taken over
	Claims     int       `dynamodbav:"claims"`
	ClaimID    string    `dynamodbav:"claim_id,omitempty"` // the claim that holds (or finished) the entry
	SentAt     time.Time `dynamodbav:"sent_at,omitempty"`
	MessageID  string    `dynamodbav:"message_id,omitempty"`
	Error      string    `dynamodbav:"error,omitempty"`
}

func (it sendItem) record() SendRecord {
	return SendRecord{MemberID: it.SK, State: it.State, ClaimUntil: it.ClaimUntil, Claims: it.Claims, ClaimID: it.ClaimID,
		SentAt: it.SentAt, MessageID: it.MessageID, Error: it.Error}
}

func ledgerPK(campaign string) string { return "SEND#" + campaign }

// SendRecords reads the ledger entries of the given members for one campaign.
func (s *Store) SendRecords(ctx context.Context, campaign string, memberIDs []string) (map[string]SendRecord, error) {
	keys := make([]map[string]types.AttributeValue, len(memberIDs))
	for i, id := range memberIDs {
		keys[i] = key(ledgerPK(campaign), id)
	}
	out := make(map[string]SendRecord, len(memberIDs))
	err := s.batchGet(ctx, keys, func(item map[string]types.AttributeValue) error {
		var it sendItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		out[it.SK] = it.record()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read send ledger %s: %w", campaign, err)
	}
	return out, nil
}

// ClaimSend takes the right to send campaign's message to a member until now+lease,
// as claim (a random id the caller makes up per claim: the fence every later mark,
// renewal and release of this claim must present). It succeeds only if no one has
// sent it and no live claim exists; a claim left by a crashed or stalled worker
// expires and is taken over. One conditional write.
func (s *Store) ClaimSend(ctx context.Context, campaign, memberID, claim string, now time.Time, lease time.Duration) error {
	if claim == "" {
		return fmt.Errorf("claim send %s/%s: no claim id", campaign, memberID)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ledgerPK(campaign), memberID),
		UpdateExpression:         aws.String("SET #st = :claimed, claim_until = :until, claim_id = :claim ADD claims :one"),
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#st = :claimed AND claim_until < :now)"),
		ExpressionAttributeNames: map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": &types.AttributeValueMemberS{Value: SendClaimed},
			":until":   &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(lease).UnixMilli())},
			":now":     &types.AttributeValueMemberN{Value: fmt.Sprint(now.UnixMilli())},
			":claim":   &types.AttributeValueMemberS{Value: claim},
			":one":     &types.AttributeValueMemberN{Value: "1"},
		},
	})
	if isConditionFailed(err) {
		return ErrClaimed
	}
	if err != nil {
		return fmt.Errorf("claim send %s/%s: %w", campaign, memberID, err)
	}
	return nil
}

// ErrLostClaim is a mark, renewal or release by a claim that no longer holds the
// entry: its lease ran out and another worker took the entry over (or finished it).
// The entry is left as the holder has it.
var ErrLostClaim = group.ErrLostClaim

// RenewClaim extends a live claim to now+lease, only while claim still holds it.
func (s *Store) RenewClaim(ctx context.Context, campaign, memberID, claim string, now time.Time, lease time.Duration) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ledgerPK(campaign), memberID),
		UpdateExpression:         aws.String("SET claim_until = :until"),
		ConditionExpression:      aws.String("#st = :claimed AND claim_id = :claim"),
		ExpressionAttributeNames: map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": &types.AttributeValueMemberS{Value: SendClaimed},
			":claim":   &types.AttributeValueMemberS{Value: claim},
			":until":   &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(lease).UnixMilli())},
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("renew claim %s/%s: %w", campaign, memberID, ErrLostClaim)
	}
	if err != nil {
		return fmt.Errorf("renew claim %s/%s: %w", campaign, memberID, err)
	}
	return nil
}

// MarkSent records that SES accepted the message: it will never be sent again.
// Only the claim that holds the entry may mark it; a retry of its own mark that
// already landed succeeds again. An entry that no longer exists (the next holder
// took it over, failed to send and released it) is written as sent too: SES took
// this claim's message, so no one must send it again. Any other entry is left
// alone and ErrLostClaim returned.
func (s *Store) MarkSent(ctx context.Context, campaign, memberID, claim, messageID string, now time.Time) error {
	return s.finish(ctx, campaign, memberID, claim, SendSent, "message_id", messageID, now)
}

// MarkFailed records that SES rejected the member's address for this message, under
// the same fence as MarkSent.
func (s *Store) MarkFailed(ctx context.Context, campaign, memberID, claim, reason string, now time.Time) error {
	return s.finish(ctx, campaign, memberID, claim, SendFailed, "error", reason, now)
}

func (s *Store) finish(ctx context.Context, campaign, memberID, claim, state, attr, value string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ledgerPK(campaign), memberID),
		UpdateExpression:         aws.String("SET #st = :state, sent_at = :now, #attr = :value, claim_id = :claim REMOVE claim_until"),
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (claim_id = :claim AND (#st = :claimed OR #st = :state))"),
		ExpressionAttributeNames: map[string]string{"#st": "state", "#attr": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":state":   &types.AttributeValueMemberS{Value: state},
			":claimed": &types.AttributeValueMemberS{Value: SendClaimed},
			":claim":   &types.AttributeValueMemberS{Value: claim},
			":now":     &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			":value":   &types.AttributeValueMemberS{Value: value},
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("mark %s %s/%s: %w", state, campaign, memberID, ErrLostClaim)
	}
	if err != nil {
		return fmt.Errorf("mark %s %s/%s: %w", state, campaign, memberID, err)
	}
	return nil
}

// ReleaseClaim gives a claim back after a send that certainly did not happen (SES
// answered with an error), so the next run retries it at once. Only the claim that
// holds the entry deletes it; otherwise the entry is left alone and ErrLostClaim
// returned.
func (s *Store) ReleaseClaim(ctx context.Context, campaign, memberID, claim string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ledgerPK(campaign), memberID),
		ConditionExpression:      aws.String("#st = :claimed AND claim_id = :claim"),
		ExpressionAttributeNames: map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": &types.AttributeValueMemberS{Value: SendClaimed},
			":claim":   &types.AttributeValueMemberS{Value: claim},
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("release claim %s/%s: %w", campaign, memberID, ErrLostClaim)
	}
	if err != nil {
		return fmt.Errorf("release claim %s/%s: %w", campaign, memberID, err)
	}
	return nil
}

// FailedSends reads every entry of a campaign's ledger that SES rejected.
func (s *Store) FailedSends(ctx context.Context, campaign string) ([]SendRecord, error) {
	var failed []SendRecord
	for after := ""; ; {
		page, next, err := s.LedgerPage(ctx, campaign, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.State == SendFailed {
				failed = append(failed, r)
			}
		}
		if next == "" {
			return failed, nil
		}
		after = next
	}
}

// RetryFailed makes a failed send claimable again (an organizer asked for it): the
// entry is removed only while it is still failed, so the next run of the campaign
// sends to the member as to anyone not sent yet. It reports whether it did.
func (s *Store) RetryFailed(ctx context.Context, campaign, memberID string) (bool, error) {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(ledgerPK(campaign), memberID),
		ConditionExpression:       aws.String("#st = :failed"),
		ExpressionAttributeNames:  map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":failed": &types.AttributeValueMemberS{Value: SendFailed}},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("retry failed send %s/%s: %w", campaign, memberID, err)
	}
	return true, nil
}

// LedgerPage reads up to limit ledger entries of a campaign after the cursor.
func (s *Store) LedgerPage(ctx context.Context, campaign, after string, limit int) ([]SendRecord, string, error) {
	out, next, err := pageOf(ctx, s, ledgerPK(campaign), "", after, limit, sendItem.record)
	if err != nil {
		return nil, "", fmt.Errorf("read send ledger %s: %w", campaign, err)
	}
	return out, next, nil
}

// Campaign is the progress of one message kind for one meeting.
type Campaign = group.Campaign

// campaignItem is a Campaign as stored: MEETING#<id> / CAMPAIGN#<kind>.
type campaignItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	StartedAt  time.Time `dynamodbav:"started_at"`
	Cursor     string    `dynamodbav:"cursor"`
	Sweeps     int       `dynamodbav:"sweeps"`
	LastRunAt  time.Time `dynamodbav:"last_run_at"`
	LastError  string    `dynamodbav:"last_error,omitempty"`
	Icebreaker string    `dynamodbav:"icebreaker,omitempty"`
	// RunState is how the latest run stands: RunRunning from its start until it
	// ends (so a run killed before its first checkpoint stays "running"),
	// RunStopped when it stopped early (LastError says why), RunSwept when it
	// reached the end of the recipients. Empty on items written before it existed.
	RunState string `dynamodbav:"run_state,omitempty"`
}

// Campaign run states (Campaign.RunState).
const (
	RunRunning = group.RunRunning
	RunStopped = group.RunStopped
	RunSwept   = group.RunSwept
)

func (it campaignItem) campaign() Campaign {
	return Campaign{MeetingID: strings.TrimPrefix(it.PK, "MEETING#"), Kind: strings.TrimPrefix(it.SK, "CAMPAIGN#"),
		StartedAt: it.StartedAt, Cursor: it.Cursor, Sweeps: it.Sweeps, LastRunAt: it.LastRunAt, LastError: it.LastError,
		Icebreaker: it.Icebreaker, RunState: it.RunState}
}

func campaignSK(kind string) string { return "CAMPAIGN#" + kind }

// Campaign reads a campaign's progress; a zero Campaign (StartedAt zero) if it never ran.
func (s *Store) Campaign(ctx context.Context, meetingID, kind string) (Campaign, error) {
	var c campaignItem
	err := s.get(ctx, meetingPK(meetingID), campaignSK(kind), &c)
	if errors.Is(err, ErrNotFound) {
		return Campaign{MeetingID: meetingID, Kind: kind}, nil
	}
	if err != nil {
		return Campaign{}, fmt.Errorf("read campaign %s/%s: %w", meetingID, kind, err)
	}
	return c.campaign(), nil
}

// StartCampaign records that a campaign began (the first time only) and returns it.
func (s *Store) StartCampaign(ctx context.Context, meetingID, kind string, now time.Time) (Campaign, error) {
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.StateTable,
		Key:              key(meetingPK(meetingID), campaignSK(kind)),
		UpdateExpression: aws.String("SET started_at = if_not_exists(started_at, :now), last_run_at = :now, run_state = :running"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":     &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
			":running": &types.AttributeValueMemberS{Value: RunRunning},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("start campaign %s/%s: %w", meetingID, kind, err)
	}
	var c campaignItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &c); err != nil {
		return Campaign{}, fmt.Errorf("start campaign %s/%s: %w", meetingID, kind, err)
	}
	return c.campaign(), nil
}

// SaveCursor checkpoints a campaign after a batch whose sends are all confirmed.
// With lastError set the run stopped early, for that reason: the campaign is
// RunStopped and the next run resumes from cursor (which may be empty: stopped
// before its first page was confirmed). With no error, an empty cursor means the
// sweep reached the end (RunSwept; the next run starts over to pick up members who
// joined since, and skips everyone the ledger says is done), and any other cursor
// is a checkpoint of a run still going.
func (s *Store) SaveCursor(ctx context.Context, meetingID, kind, cursor, lastError string) error {
	values := map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: cursor}}
	update := "SET #c = :c"
	switch {
	case lastError != "":
		update += ", last_error = :e, run_state = :state"
		values[":e"] = &types.AttributeValueMemberS{Value: lastError}
		values[":state"] = &types.AttributeValueMemberS{Value: RunStopped}
	case cursor == "":
		update += ", run_state = :state REMOVE last_error ADD sweeps :one"
		values[":state"] = &types.AttributeValueMemberS{Value: RunSwept}
		values[":one"] = &types.AttributeValueMemberN{Value: "1"}
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(meetingPK(meetingID), campaignSK(kind)),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  map[string]string{"#c": "cursor"},
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("checkpoint campaign %s/%s: %w", meetingID, kind, err)
	}
	return nil
}

const icebreakersPK = "ICEBREAKERS"

// AssignIcebreaker gives a meeting its question from the bank once: the first
// writer wins and everyone after gets the same question.
func (s *Store) AssignIcebreaker(ctx context.Context, meetingID, question string) (string, error) {
	item := key(icebreakersPK, meetingID)
	item["question"] = &types.AttributeValueMemberS{Value: question}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err == nil {
		return question, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("assign icebreaker to %s: %w", meetingID, err)
	}
	var got struct {
		Question string `dynamodbav:"question"`
	}
	if err := s.get(ctx, icebreakersPK, meetingID, &got); err != nil {
		return "", fmt.Errorf("read icebreaker of %s: %w", meetingID, err)
	}
	return got.Question, nil
}

// UsedIcebreakers is every bank question already given to a meeting, by meeting id.
func (s *Store) UsedIcebreakers(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	after := ""
	for {
		items, next, err := s.queryPage(ctx, icebreakersPK, "", after, 0)
		if err != nil {
			return nil, fmt.Errorf("read used icebreakers: %w", err)
		}
		for _, item := range items {
			var it struct {
				SK       string `dynamodbav:"sk"`
				Question string `dynamodbav:"question"`
			}
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, err
			}
			out[it.SK] = it.Question
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// CampaignID names the ledger of one message kind for one meeting.
func CampaignID(meetingID, kind string) string { return group.CampaignID(meetingID, kind) }

// SplitCampaignID is CampaignID's inverse.
func SplitCampaignID(id string) (meetingID, kind string) {
	i := strings.LastIndex(id, "#")
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i+1:]
}
