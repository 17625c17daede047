package dynamo

// Capacity and the waitlist, on single-item conditional writes only.
//
// One item per meeting, MEETING#<id> / COUNT, is the authority on places:
//
//	going    places taken (members and their guests)
//	waiting  members on the waitlist
//	seats    map member id -> places held (1 + guests that fitted)
//	queue    map member id -> "<UTC time, fixed width>|<places wanted>"
//	seq      bumped by every write: orders the RSVP items' mirrors
//	ver      map member id -> version of the answer the entries were last set
//	         from: the gate that lets the newest of one member's answers win
//	         (answer.go, which also has the round trips an answer costs)
//
// Every change of a member's place is ONE UpdateItem of this item that changes the
// map entry and the number together under a condition, so `going` is always the sum
// of `seats` and `waiting` the size of `queue`: 500 clicks racing for 100 places
// give exactly 100 seats, whatever the interleaving.
//
// The member's RSVP item (RSVP#<member>) carries the answer (the intent, written
// first) and a mirror of the place (place, seats, count_seq). A member's request
// writes the intent, then drives the COUNT item to match it (place) and writes the
// mirror; a promotion writes the promoted member's mirror. A mirror is written only
// with a count_seq newer than the one it holds, so the newest COUNT state wins.
//
// A crash between the two writes leaves the mirror behind the COUNT item (or a
// released place not yet re-offered); Reconcile re-syncs every member of a meeting
// from their intent, promotes, and rewrites the mirrors. The order of the writes
// keeps the crash window safe: a place is taken in COUNT before a mirror says
// going, and an answer leaves Yes before its place is released, so a crash can
// leave a place held too long but never gives one place to two members.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

const countSK = "COUNT"

// queueTime is fixed width, so queue entries compare in time order as text.
const queueTime = "2006-01-02T15:04:05.000000000Z"

// Places is a meeting's COUNT item (group.Places).
type Places = group.Places

// placesItem is the COUNT item as stored.
type placesItem struct {
	Going   int               `dynamodbav:"going"`
	Waiting int               `dynamodbav:"waiting"`
	Seq     int64             `dynamodbav:"seq"`
	Seats   map[string]int    `dynamodbav:"seats"`
	Queue   map[string]string `dynamodbav:"queue"`
}

func queueEntry(at time.Time, places int) string {
	return at.UTC().Format(queueTime) + "|" + strconv.Itoa(places)
}

func entryPlaces(entry string) int {
	_, n, _ := strings.Cut(entry, "|")
	v, err := strconv.Atoi(n)
	if err != nil || v < 1 {
		return 1
	}
	return v
}

// limit turns a schedule capacity into a number of places (0: no limit).
func limit(capacity int) int {
	if capacity <= 0 {
		return math.MaxInt32
	}
	return capacity
}

// Booking is the outcome of an answer: the member's RSVP as now recorded, the
// meeting's places after it, and who got a place from the waitlist on the way.
type Booking = group.Booking

var countReady sync.Map // meeting id -> struct{}: the COUNT item exists

// ensureCount creates the meeting's COUNT item if it is not there yet.
func (s *Store) ensureCount(ctx context.Context, meetingID string) error {
	cacheKey := s.StateTable + "\x00" + meetingID
	if _, ok := countReady.Load(cacheKey); ok {
		return nil
	}
	item := key(meetingPK(meetingID), countSK)
	zero := &types.AttributeValueMemberN{Value: "0"}
	item["going"], item["waiting"], item["seq"] = zero, zero, zero
	item["seats"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	item["queue"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	item["ver"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.StateTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("create places of %s: %w", meetingID, err)
	}
	countReady.Store(cacheKey, struct{}{})
	return nil
}

// Places reads a meeting's places in full (every seat and the whole queue); a
// meeting nobody answered has none taken.
func (s *Store) Places(ctx context.Context, meetingID string) (Places, error) {
	return s.readPlaces(ctx, meetingID, "", false)
}

// PlaceCounts reads only how many places are taken and how many wait: what the
// pages show, without reading the whole COUNT item.
func (s *Store) PlaceCounts(ctx context.Context, meetingID string) (going, waiting int, err error) {
	p, err := s.readPlaces(ctx, meetingID, "", true)
	return p.Going, p.Waiting, err
}

// readPlaces reads the COUNT item: in full, or (brief) only the numbers and, with
// memberID, that member's own entries; the maps can hold thousands of entries.
func (s *Store) readPlaces(ctx context.Context, meetingID, memberID string, brief bool) (Places, error) {
	in := &dynamodb.GetItemInput{TableName: &s.StateTable, Key: key(meetingPK(meetingID), countSK), ConsistentRead: aws.Bool(true)}
	if brief {
		in.ProjectionExpression = aws.String("going, waiting, seq")
		if memberID != "" {
			in.ProjectionExpression = aws.String("going, waiting, seq, seats.#m, queue.#m")
			in.ExpressionAttributeNames = map[string]string{"#m": memberID}
		}
	}
	p := Places{Seats: map[string]int{}, Queue: map[string]string{}}
	res, err := s.DB.GetItem(ctx, in)
	if err != nil {
		return p, fmt.Errorf("read places of %s: %w", meetingID, err)
	}
	if res.Item == nil {
		return p, nil
	}
	var it placesItem
	if err := attributevalue.UnmarshalMap(res.Item, &it); err != nil {
		return p, fmt.Errorf("read places of %s: %w", meetingID, err)
	}
	p = Places(it)
	if p.Seats == nil {
		p.Seats = map[string]int{}
	}
	if p.Queue == nil {
		p.Queue = map[string]string{}
	}
	return p, nil
}

// updateCount runs one conditional write on the COUNT item with #m bound to the
// member. It reports false when the condition did not hold, and the new seq.
func (s *Store) updateCount(ctx context.Context, meetingID, memberID, update, condition string, values map[string]types.AttributeValue) (bool, int64, error) {
	values[":one"] = &types.AttributeValueMemberN{Value: "1"}
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(meetingPK(meetingID), countSK),
		UpdateExpression:          aws.String(update + " ADD seq :one"),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  map[string]string{"#m": memberID},
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("update places of %s for %s: %w", meetingID, memberID, err)
	}
	var out struct {
		Seq int64 `dynamodbav:"seq"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &out); err != nil {
		return false, 0, fmt.Errorf("read seq of places of %s after updating %s: %w", meetingID, memberID, err)
	}
	if out.Seq <= 0 {
		// ADD seq :one always leaves it at 1 or more: a missing seq would order this
		// member's mirror before every other write.
		return false, 0, fmt.Errorf("places of %s after updating %s: no seq in the answer", meetingID, memberID)
	}
	return true, out.Seq, nil
}

func num(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

type intent struct {
	Answer  string `dynamodbav:"answer"`
	Guests  int    `dynamodbav:"guests"`
	Version int64  `dynamodbav:"version"`
}

// resync drives a member's entries in the COUNT item to their latest recorded
// answer with the write an answer itself makes (place: one conditional UpdateItem,
// gated by the answer's version, so a newer answer in flight is never undone). The
// RSVP item's mirror is left to the caller. Entries of a member with no RSVP item
// at all are removed.
func (s *Store) resync(ctx context.Context, meetingID, memberID string, capacity int, now time.Time) error {
	var in intent
	err := s.get(ctx, meetingPK(meetingID), rsvpPrefix+memberID, &in)
	if errors.Is(err, ErrNotFound) {
		return s.dropEntries(ctx, meetingID, memberID)
	}
	if err != nil {
		return fmt.Errorf("read RSVP %s/%s: %w", meetingID, memberID, err)
	}
	mp, err := s.readMemberPlaces(ctx, meetingID, memberID)
	if err != nil {
		return err
	}
	want := 0
	if in.Answer == string(group.Yes) {
		want = 1 + in.Guests
	}
	_, err = s.place(ctx, meetingID, memberID, mp, want, in.Version, capacity, now)
	return err
}

// dropEntries removes the COUNT item's entries (and answer version) of a member who
// has no RSVP item, giving their places back.
func (s *Store) dropEntries(ctx context.Context, meetingID, memberID string) error {
	for attempt := 0; attempt < 50; attempt++ {
		mp, err := s.readMemberPlaces(ctx, meetingID, memberID)
		if err != nil {
			return err
		}
		var ok bool
		switch {
		case mp.Seated:
			ok, _, err = s.updateCount(ctx, meetingID, memberID, "REMOVE seats.#m, ver.#m SET going = going - :held",
				"seats.#m = :held", map[string]types.AttributeValue{":held": num(mp.Held)})
		case mp.Queued:
			ok, _, err = s.updateCount(ctx, meetingID, memberID, "REMOVE queue.#m, ver.#m SET waiting = waiting - :one",
				"queue.#m = :e", map[string]types.AttributeValue{":e": str(mp.Entry)})
		default:
			return nil
		}
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("places of %s/%s: still contended after 50 attempts", meetingID, memberID)
}

// Promote gives free places to the waitlist, first come first served: while the
// first in line fits, they are moved to going (one conditional write each) and
// their RSVP item says so. It returns the promoted member ids, in order. Strictly
// first come: a first in line whose party does not fit holds up those behind.
func (s *Store) Promote(ctx context.Context, meetingID string, capacity int, now time.Time) ([]string, error) {
	promoted, _, err := s.promote(ctx, meetingID, capacity, now, nil)
	return promoted, err
}

// promote is Promote, also returning the counts it saw last (after its promotions).
// seen, if not nil, are the numbers the caller's own write just returned: the first
// look at them needs no read.
func (s *Store) promote(ctx context.Context, meetingID string, capacity int, now time.Time, seen *Places) ([]string, Places, error) {
	max := limit(capacity)
	var promoted []string
	recorded := map[string]bool{} // head|queue time: this stint's promotion email is in the outbox
	for attempt := 0; attempt < 1000; attempt++ {
		var counts Places
		var err error
		if attempt == 0 && seen != nil {
			counts = *seen
		} else {
			counts, err = s.readPlaces(ctx, meetingID, "", true)
		}
		if err != nil || counts.Waiting == 0 || counts.Going >= max {
			return promoted, counts, err
		}
		p, err := s.Places(ctx, meetingID)
		if err != nil {
			return promoted, counts, err
		}
		order := p.QueueOrder()
		if len(order) == 0 {
			return promoted, p, nil
		}
		head := order[0]
		entry := p.Queue[head]
		n := entryPlaces(entry)
		if p.Going+n > max {
			return promoted, p, nil
		}
		if stint := head + "|" + p.QueuedSince(head); !recorded[stint] { // once per stint, however often the write is retried
			if _, err := s.recordPromotion(ctx, meetingID, head, entry, now); err != nil {
				return promoted, p, err
			}
			recorded[stint] = true
		}
		ok, seq, err := s.updateCount(ctx, meetingID, head,
			"REMOVE queue.#m SET seats.#m = :n, going = going + :n, waiting = waiting - :one",
			"queue.#m = :e AND attribute_not_exists(seats.#m) AND going <= :room",
			map[string]types.AttributeValue{":n": num(n), ":e": str(entry), ":room": num(max - n)})
		if err != nil {
			return promoted, p, err
		}
		if !ok {
			continue
		}
		promoted = append(promoted, head)
		_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.StateTable, Key: key(meetingPK(meetingID), rsvpPrefix+head),
			UpdateExpression:    aws.String("SET place = :going, seats = :n, count_seq = :seq, promoted_at = :now"),
			ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(count_seq) OR count_seq <= :seq)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":going": str(group.PlaceGoing), ":n": num(n), ":now": str(now.UTC().Format(time.RFC3339Nano)),
				":seq": &types.AttributeValueMemberN{Value: strconv.FormatInt(seq, 10)},
			},
		})
		if err != nil && !isConditionFailed(err) {
			return promoted, p, fmt.Errorf("mirror promotion of %s/%s: %w", meetingID, head, err)
		}
	}
	return promoted, Places{}, fmt.Errorf("promote on %s: still contended", meetingID)
}

// ReconcileReport says what Reconcile found and fixed.
type ReconcileReport = group.ReconcileReport

// Reconcile is the repair path after a crash between the two writes of an answer:
// every member whose place in the COUNT item does not match their answer is synced
// again, free places go to the waitlist, and every RSVP item whose mirrored place
// differs from the COUNT item is rewritten. It is safe to run at any time, also
// while members are answering.
func (s *Store) Reconcile(ctx context.Context, meetingID string, capacity int, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	if err := s.ensureCount(ctx, meetingID); err != nil {
		return rep, err
	}
	rsvps, err := s.allRSVPs(ctx, meetingID)
	if err != nil {
		return rep, err
	}
	rep.Members = len(rsvps)
	p, err := s.Places(ctx, meetingID)
	if err != nil {
		return rep, err
	}
	answered := map[string]bool{}
	for _, r := range rsvps {
		answered[r.MemberID] = true
		_, seated := p.Seats[r.MemberID]
		_, queued := p.Queue[r.MemberID]
		if (r.Answer == group.Yes) != (seated || queued) {
			rep.Resynced = append(rep.Resynced, r.MemberID)
		}
	}
	for id := range p.Seats {
		if !answered[id] {
			rep.Resynced = append(rep.Resynced, id)
		}
	}
	for id := range p.Queue {
		if !answered[id] {
			rep.Resynced = append(rep.Resynced, id)
		}
	}
	for _, id := range rep.Resynced {
		if err := s.resync(ctx, meetingID, id, capacity, now); err != nil {
			return rep, err
		}
	}
	if rep.Promoted, err = s.Promote(ctx, meetingID, capacity, now); err != nil {
		return rep, err
	}
	if p, err = s.Places(ctx, meetingID); err != nil {
		return rep, err
	}
	if rsvps, err = s.allRSVPs(ctx, meetingID); err != nil {
		return rep, err
	}
	for _, r := range rsvps {
		held, seated := p.Seats[r.MemberID]
		_, queued := p.Queue[r.MemberID]
		place, seats := placeOf(seated, held, queued)
		if (r.Answer == group.Yes) != (place != "") {
			continue // an answer on its way (or cut off since the read above): its own write, or the next Reconcile, mirrors it
		}
		if r.Place != place || r.Seats != seats {
			if _, err := s.mirrorAnswer(ctx, meetingID, r.MemberID, place, seats, p.Seq, 0); err != nil {
				return rep, err
			}
			rep.Mirrored++
		}
	}
	rep.Going, rep.Waiting = p.Going, p.Waiting
	return rep, nil
}

func (s *Store) allRSVPs(ctx context.Context, meetingID string) ([]group.RSVP, error) {
	var out []group.RSVP
	after := ""
	for {
		page, next, err := s.RSVPsPage(ctx, meetingID, after, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}
