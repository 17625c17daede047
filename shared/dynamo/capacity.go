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
// writes the intent, then drives the COUNT item to match it (sync) and writes the
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
	Answer   string `dynamodbav:"answer"`
	Guests   int    `dynamodbav:"guests"`
	Version  int64  `dynamodbav:"version"`
	CountSeq int64  `dynamodbav:"count_seq"`
}

// sync drives the COUNT item to match the member's latest answer, then mirrors the
// place onto the RSVP item. Each write is conditional on what was read; when one
// fails (another click got there first) it reads again. It returns how many asked-for
// guests did not fit.
func (s *Store) sync(ctx context.Context, meetingID, memberID string, capacity int, now time.Time) (int, error) {
	max := limit(capacity)
	refused := 0
	for attempt := 0; ; attempt++ {
		if attempt > 50 {
			return 0, fmt.Errorf("place of %s/%s: still contended after %d attempts", meetingID, memberID, attempt)
		}
		if attempt > 3 {
			if err := sleep(ctx, time.Duration(attempt)*time.Millisecond); err != nil {
				return 0, err
			}
		}
		var in intent
		if err := s.get(ctx, meetingPK(meetingID), rsvpPrefix+memberID, &in); err != nil {
			if errors.Is(err, ErrNotFound) {
				in = intent{}
			} else {
				return 0, fmt.Errorf("read RSVP %s/%s: %w", meetingID, memberID, err)
			}
		}
		p, err := s.readPlaces(ctx, meetingID, memberID, true)
		if err != nil {
			return 0, err
		}
		want := 0
		if in.Answer == string(group.Yes) {
			want = 1 + in.Guests
		}
		held, seated := p.Seats[memberID]
		entry, queued := p.Queue[memberID]
		// Each case is one conditional write; after it succeeds, p is what the
		// member's entries now are (seq included), so the mirror goes straight on.
		var ok bool
		var seq int64
		seat := func(n int) { p.Seats[memberID] = n; delete(p.Queue, memberID) }
		queue := func(e string) { p.Queue[memberID] = e; delete(p.Seats, memberID) }
		var after func()
		switch {
		case want > 0 && seated && held > want: // fewer guests: give places back
			ok, seq, err = s.updateCount(ctx, meetingID, memberID, "SET seats.#m = :n, going = going - :d",
				"seats.#m = :held", map[string]types.AttributeValue{":n": num(want), ":d": num(held - want), ":held": num(held)})
			after = func() { seat(want) }
		case want > 0 && seated && held < want && refused == 0: // more guests: only if they fit and nobody waits
			ok, seq, err = s.updateCount(ctx, meetingID, memberID, "SET seats.#m = :n, going = going + :d",
				"seats.#m = :held AND waiting = :zero AND going <= :room",
				map[string]types.AttributeValue{":n": num(want), ":d": num(want - held), ":held": num(held), ":zero": num(0), ":room": num(max - (want - held))})
			after = func() { seat(want) }
			if err == nil && !ok {
				refused = want - held // keep the place held; do not retry the guests
				continue
			}
		case want > 0 && queued && entryPlaces(entry) != want:
			e := strings.SplitN(entry, "|", 2)[0] + "|" + strconv.Itoa(want)
			ok, seq, err = s.updateCount(ctx, meetingID, memberID, "SET queue.#m = :new", "queue.#m = :old",
				map[string]types.AttributeValue{":new": str(e), ":old": str(entry)})
			after = func() { queue(e) }
		case want > 0 && !seated && !queued:
			if p.Waiting == 0 && p.Going+want <= max {
				ok, seq, err = s.updateCount(ctx, meetingID, memberID, "SET seats.#m = :n, going = going + :n",
					"attribute_not_exists(seats.#m) AND attribute_not_exists(queue.#m) AND waiting = :zero AND going <= :room",
					map[string]types.AttributeValue{":n": num(want), ":zero": num(0), ":room": num(max - want)})
				after = func() { seat(want) }
			}
			if err == nil && !ok { // full, or someone is waiting: join the queue
				e := queueEntry(now, want)
				ok, seq, err = s.updateCount(ctx, meetingID, memberID, "SET queue.#m = :e, waiting = waiting + :one",
					"attribute_not_exists(seats.#m) AND attribute_not_exists(queue.#m)",
					map[string]types.AttributeValue{":e": str(e)})
				after = func() { queue(e) }
			}
		case want == 0 && seated:
			ok, seq, err = s.updateCount(ctx, meetingID, memberID, "REMOVE seats.#m SET going = going - :held",
				"seats.#m = :held", map[string]types.AttributeValue{":held": num(held)})
			after = func() { delete(p.Seats, memberID) }
		case want == 0 && queued:
			ok, seq, err = s.updateCount(ctx, meetingID, memberID, "REMOVE queue.#m SET waiting = waiting - :one",
				"queue.#m = :e", map[string]types.AttributeValue{":e": str(entry)})
			after = func() { delete(p.Queue, memberID) }
		default:
			ok = true // the COUNT item matches the answer already
		}
		if err != nil {
			return 0, err
		}
		if !ok {
			continue // another click got there first: read again
		}
		if after != nil {
			after()
			p.Seq = seq
		}
		// Mirror the place, unless the answer moved on meanwhile (then sync again).
		done, err := s.mirror(ctx, meetingID, memberID, p, &in.Version)
		if err != nil {
			return 0, err
		}
		if done {
			return refused, nil
		}
	}
}

// mirror writes the member's place as p says onto their RSVP item: only if p is
// newer than the mirror there, and (with version) only if the answer is still the
// one p was synced to. It reports false when the answer changed meanwhile.
func (s *Store) mirror(ctx context.Context, meetingID, memberID string, p Places, version *int64) (bool, error) {
	place, seats := "", 0
	if n, ok := p.Seats[memberID]; ok {
		place, seats = group.PlaceGoing, n
	} else if _, ok := p.Queue[memberID]; ok {
		place = group.PlaceWaitlisted
	}
	cond := "attribute_exists(pk) AND (attribute_not_exists(count_seq) OR count_seq <= :seq)"
	values := map[string]types.AttributeValue{":seq": &types.AttributeValueMemberN{Value: strconv.FormatInt(p.Seq, 10)}, ":seats": num(seats)}
	update := "SET count_seq = :seq, seats = :seats"
	if place == "" {
		update += " REMOVE place"
	} else {
		update += ", place = :place"
		values[":place"] = str(place)
	}
	if version != nil {
		cond += " AND version = :v"
		values[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*version, 10)}
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable, Key: key(meetingPK(meetingID), rsvpPrefix+memberID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		if version == nil {
			return true, nil // a newer mirror is there already
		}
		var in intent
		if err := s.get(ctx, meetingPK(meetingID), rsvpPrefix+memberID, &in); errors.Is(err, ErrNotFound) {
			return true, nil // no RSVP item to mirror onto
		} else if err != nil {
			return false, fmt.Errorf("read RSVP %s/%s: %w", meetingID, memberID, err)
		}
		// Same answer, newer mirror: someone mirrored a later COUNT state. Done.
		return in.Version == *version, nil
	}
	if err != nil {
		return false, fmt.Errorf("mirror place of %s/%s: %w", meetingID, memberID, err)
	}
	return true, nil
}

// Promote gives free places to the waitlist, first come first served: while the
// first in line fits, they are moved to going (one conditional write each) and
// their RSVP item says so. It returns the promoted member ids, in order. Strictly
// first come: a first in line whose party does not fit holds up those behind.
func (s *Store) Promote(ctx context.Context, meetingID string, capacity int, now time.Time) ([]string, error) {
	promoted, _, err := s.promote(ctx, meetingID, capacity, now, nil, false)
	return promoted, err
}

// promote is Promote, also returning the counts it saw last (after its promotions).
// seen, if not nil, are the numbers the caller's own write just returned: the first
// look at them needs no read.
//
// With yield, promote stops when another promoter is promoting the same member
// (their promotion email is recorded already): an answer leaves the chain to the
// request that started it, rather than racing it for every free place. A
// promoter that died after recording is finished by the outbox's repair (or the
// invitations run's Reconcile), which promote without yield.
func (s *Store) promote(ctx context.Context, meetingID string, capacity int, now time.Time, seen *Places, yield bool) ([]string, Places, error) {
	max := limit(capacity)
	var promoted []string
	recorded := map[string]bool{} // head|entry whose promotion email is in the outbox
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
		if !recorded[head+"|"+entry] { // once per waitlist stint, however often the write is retried
			first, err := s.recordPromotion(ctx, meetingID, head, entry, now)
			if err != nil {
				return promoted, p, err
			}
			if !first && yield {
				return promoted, p, nil // another request is promoting them
			}
			recorded[head+"|"+entry] = true
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
		if _, err := s.sync(ctx, meetingID, id, capacity, now); err != nil {
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
		place, seats := "", 0
		if n, ok := p.Seats[r.MemberID]; ok {
			place, seats = group.PlaceGoing, n
		} else if _, ok := p.Queue[r.MemberID]; ok {
			place = group.PlaceWaitlisted
		}
		if (r.Answer == group.Yes) != (place != "") {
			continue // an answer on its way (or cut off since the read above): its own write, or the next Reconcile, mirrors it
		}
		if r.Place != place || r.Seats != seats {
			if _, err := s.mirror(ctx, meetingID, r.MemberID, p, nil); err != nil {
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
