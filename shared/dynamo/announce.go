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

// What members' calendars were told of a meeting: one item per meeting,
//
//	MEETING#<id>        / ANNOUNCED               sequence, fingerprint, current and previous state
//
// written when the invitation campaign first runs and raised by one conditional
// write per change, so concurrent runs agree on one new SEQUENCE. Each invitation
// ledger entry (SEND#<id>#invitation / <member id>) holds the `sequence` its
// calendar carried when that was above 0, so an update goes only to members whose
// calendar is older than it.
const announcedSK = "ANNOUNCED"

// CalendarState is what a meeting's calendar event says that members must be told
// about when it changes: the time and its zone, where, and whether it is on.
type CalendarState = group.CalendarState

// calendarItem is a CalendarState as stored (a map attribute).
type calendarItem struct {
	Start        time.Time `dynamodbav:"starts_at"`
	End          time.Time `dynamodbav:"ends_at"`
	TimeZone     string    `dynamodbav:"time_zone"`
	Venue        string    `dynamodbav:"venue,omitempty"`
	VenueAddress string    `dynamodbav:"venue_address,omitempty"`
	Status       string    `dynamodbav:"status"`
}

// Announcement is a meeting's announced calendar state.
type Announcement = group.Announcement

// announcementItem is an Announcement as stored: MEETING#<id> / ANNOUNCED.
type announcementItem struct {
	Sequence    int           `dynamodbav:"sequence"`    // the iCalendar SEQUENCE members were last sent
	Fingerprint string        `dynamodbav:"fingerprint"` // of Current, for a cheap comparison
	Current     calendarItem  `dynamodbav:"current"`
	Previous    *calendarItem `dynamodbav:"previous,omitempty"` // what Sequence-1 said (nil at 0)
	At          time.Time     `dynamodbav:"announced_at"`       // the run that announced it
	// ReplyDomain and ReplyKey are fixed by the first announcement: the ORGANIZER
	// of the meeting's every invitation, update and cancellation is
	// rsvp+<reply token signed with ReplyKey>@ReplyDomain, so members' calendars
	// keep matching its updates after a key rotation or a change of
	// AFTERPARTY_REPLY_DOMAIN. Empty (no reply domain then, or announced before
	// replies existed): the ORGANIZER is the group's From address.
	ReplyDomain string `dynamodbav:"reply_domain,omitempty"`
	ReplyKey    string `dynamodbav:"reply_key,omitempty"`
}

func (c calendarItem) state() CalendarState { return CalendarState(c) }

func (a announcementItem) announcement() Announcement {
	out := Announcement{Sequence: a.Sequence, Fingerprint: a.Fingerprint, Current: a.Current.state(), At: a.At,
		ReplyDomain: a.ReplyDomain, ReplyKey: a.ReplyKey}
	if a.Previous != nil {
		p := a.Previous.state()
		out.Previous = &p
	}
	return out
}

func itemOfAnnouncement(a Announcement) announcementItem {
	out := announcementItem{Sequence: a.Sequence, Fingerprint: a.Fingerprint, Current: calendarItem(a.Current), At: a.At,
		ReplyDomain: a.ReplyDomain, ReplyKey: a.ReplyKey}
	if a.Previous != nil {
		p := calendarItem(*a.Previous)
		out.Previous = &p
	}
	return out
}

// Announcement reads a meeting's announced state; ErrNotFound if it was never
// announced.
func (s *Store) Announcement(ctx context.Context, meetingID string) (Announcement, error) {
	var a announcementItem
	err := s.get(ctx, meetingPK(meetingID), announcedSK, &a)
	if errors.Is(err, ErrNotFound) {
		return Announcement{}, err
	}
	if err != nil {
		return Announcement{}, fmt.Errorf("read announcement of %s: %w", meetingID, err)
	}
	return a.announcement(), nil
}

// Announce records a meeting's first announced state (its Sequence is ignored:
// the first is 0). The first writer wins: it returns what is stored, which is a
// if no one announced the meeting before.
func (s *Store) Announce(ctx context.Context, meetingID string, a Announcement) (Announcement, error) {
	a.Sequence, a.Previous = 0, nil
	item, err := attributevalue.MarshalMap(itemOfAnnouncement(a))
	if err != nil {
		return Announcement{}, fmt.Errorf("announce %s: %w", meetingID, err)
	}
	for k, v := range key(meetingPK(meetingID), announcedSK) {
		item[k] = v
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.StateTable,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	switch {
	case err == nil:
		return a, nil
	case isConditionFailed(err):
		return s.Announcement(ctx, meetingID)
	default:
		return Announcement{}, fmt.Errorf("announce %s: %w", meetingID, err)
	}
}

// Reannounce raises a meeting's announced state from sequence `from` to
// from+1 with next's fingerprint and state (next.Previous is set from what is
// stored). One conditional write: of concurrent runs that read the same `from`,
// exactly one raises it; every caller gets what is stored afterwards, so callers
// agree on one new sequence and can tell whether it announced their version.
func (s *Store) Reannounce(ctx context.Context, meetingID string, from int, next Announcement) (Announcement, error) {
	cur, err := attributevalue.Marshal(calendarItem(next.Current))
	if err != nil {
		return Announcement{}, fmt.Errorf("reannounce %s: %w", meetingID, err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(meetingPK(meetingID), announcedSK),
		UpdateExpression:         aws.String("SET previous = #cur, #cur = :cur, #seq = :next, fingerprint = :fp, announced_at = :at"),
		ConditionExpression:      aws.String("#seq = :from"),
		ExpressionAttributeNames: map[string]string{"#seq": "sequence", "#cur": "current"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":cur":  cur,
			":next": &types.AttributeValueMemberN{Value: strconv.Itoa(from + 1)},
			":from": &types.AttributeValueMemberN{Value: strconv.Itoa(from)},
			":fp":   &types.AttributeValueMemberS{Value: next.Fingerprint},
			":at":   &types.AttributeValueMemberS{Value: next.At.UTC().Format(time.RFC3339Nano)},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return Announcement{}, fmt.Errorf("reannounce %s at sequence %d: %w", meetingID, from+1, err)
	}
	return s.Announcement(ctx, meetingID)
}

// Sequences reads the announced SEQUENCE of each meeting (absent: never announced).
func (s *Store) Sequences(ctx context.Context, meetingIDs []string) (map[string]int, error) {
	keys := make([]map[string]types.AttributeValue, len(meetingIDs))
	for i, id := range meetingIDs {
		keys[i] = key(meetingPK(id), announcedSK)
	}
	out := make(map[string]int, len(meetingIDs))
	err := s.batchGet(ctx, keys, func(item map[string]types.AttributeValue) error {
		var it struct {
			PK       string `dynamodbav:"pk"`
			Sequence int    `dynamodbav:"sequence"`
		}
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		out[it.PK[len(meetingPK("")):]] = it.Sequence
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read announced sequences: %w", err)
	}
	return out, nil
}

// NoteSequence records on a claimed send-ledger entry the SEQUENCE of the calendar
// about to be sent. It fails if the claim is gone (the send is not this caller's).
func (s *Store) NoteSequence(ctx context.Context, campaign, memberID string, sequence int) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.StateTable,
		Key:                      key(ledgerPK(campaign), memberID),
		UpdateExpression:         aws.String("SET #seq = :seq"),
		ConditionExpression:      aws.String("#st = :claimed"),
		ExpressionAttributeNames: map[string]string{"#seq": "sequence", "#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":seq":     &types.AttributeValueMemberN{Value: strconv.Itoa(sequence)},
			":claimed": &types.AttributeValueMemberS{Value: SendClaimed},
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("note sequence %s/%s: %w", campaign, memberID, ErrClaimed)
	}
	if err != nil {
		return fmt.Errorf("note sequence %s/%s: %w", campaign, memberID, err)
	}
	return nil
}

// SentCalendar is one member's entry in an invitation ledger: its send state and
// the SEQUENCE of the calendar it carried.
type SentCalendar = group.SentCalendar

// sentCalendarItem is the part of an invitation ledger entry SentCalendar reads.
type sentCalendarItem struct {
	MemberID string `dynamodbav:"sk"`
	State    string `dynamodbav:"state"`
	Sequence int    `dynamodbav:"sequence"` // absent (0) for the first version
}

// SentCalendarsPage reads up to limit entries of a campaign's ledger after the
// cursor (a member id; "" for the start) and returns the next cursor ("" at the end).
func (s *Store) SentCalendarsPage(ctx context.Context, campaign, after string, limit int) ([]SentCalendar, string, error) {
	out, next, err := pageOf(ctx, s, ledgerPK(campaign), "", after, limit, func(it sentCalendarItem) SentCalendar { return SentCalendar(it) })
	if err != nil {
		return nil, "", fmt.Errorf("read send ledger %s: %w", campaign, err)
	}
	return out, next, nil
}
