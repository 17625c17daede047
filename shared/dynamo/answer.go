package dynamo

// The fast path of an answer (capacity.go has the model and its invariants).
//
// An answer from the RSVP page costs these DynamoDB round trips, one after another
// (calls in one trip run at once):
//
//  1. ReadAnswerStart: one BatchGetItem (the meeting's schedule row unless the
//     caller has it, the member, their RSVP item) and, at the same time, one
//     GetItem of the COUNT item's numbers and this member's own entries.
//  2. The answer (UpdateItem of the RSVP item, ReturnValues ALL_NEW), the click
//     record (PutItem) and, for a meeting nobody answered yet, the COUNT item
//     (conditional PutItem).
//  3. The place: one conditional UpdateItem of the COUNT item (UPDATED_NEW: going,
//     waiting, seq), gated by the answer's version (below).
//  4. With a capacity only: the mirror of the place on the RSVP item (ALL_NEW: the
//     RSVP as recorded), and at the same time the whole queue when the member is
//     waitlisted (their position) or the promotion when the numbers of trip 3 show
//     a free place and someone waiting (promote, entered with those numbers).
//
// Without a capacity nothing can be overbooked and the answer alone decides the
// place (a Yes is going with 1 + guests), so trip 2 writes the mirror together with
// the answer and trip 3 ends it: three trips. (A meeting whose COUNT item still has
// a queue, its capacity removed since, takes the capacity path.)
//
// The version gate. The COUNT item keeps, per member, the version of the answer
// its entries were last set from (ver.#m). Every write of trip 3 sets it and holds
// only if it is older than this answer's version, so when one member's answers race
// (Yes and No from two tabs) the newest answer's place wins whatever order the
// writes land in: an older answer finds a newer version there and stops. That is
// what lets trip 3 act on the answer this request wrote, without reading it again.
// The mirror of trip 4 holds only while the RSVP item still carries this answer's
// version and a count_seq no newer than its own; when it does not, a newer answer
// is on its way and writes its own. A crash between the trips is repaired by
// Reconcile, as before: the order of the writes is unchanged for a meeting with a
// capacity (answer, then COUNT, then mirror).

import (
	"context"
	"errors"
	"fmt"
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

// memberPlaces is the COUNT item as one member's answer needs it: the numbers and
// that member's own entries, without the rest of the maps.
type memberPlaces struct {
	Exists  bool
	Going   int
	Waiting int
	Seq     int64
	Held    int // places held, if Seated
	Seated  bool
	Entry   string // queue entry, if Queued
	Queued  bool
	Version int64 // the answer version the entries were last set from (0: none)
}

// AnswerStart is what an answer starts from, read in one round trip by
// ReadAnswerStart: the meeting's row (if asked for), the member, their RSVP, and
// the meeting's places as this member's answer needs them.
type AnswerStart = group.AnswerStart

// ReadAnswerStart reads, in one round trip, what an answer of memberID to
// meetingID starts from: one BatchGetItem of the schedule row (withRow), the
// member and their RSVP item, and at the same time one GetItem of the COUNT item's
// numbers and the member's own entries (BatchGetItem's projection is per table, so
// that brief read of the COUNT item is a call of its own).
func (s *Store) ReadAnswerStart(ctx context.Context, meetingID, memberID string, withRow bool) (AnswerStart, error) {
	st := AnswerStart{MeetingID: meetingID, MemberID: memberID}
	var wg sync.WaitGroup
	var mp memberPlaces
	var placesErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		mp, placesErr = s.readMemberPlaces(ctx, meetingID, memberID)
	}()
	req := map[string]types.KeysAndAttributes{
		s.StateTable: {Keys: []map[string]types.AttributeValue{key(membersPK, memberID), key(meetingPK(meetingID), rsvpPrefix+memberID)}, ConsistentRead: aws.Bool(true)},
	}
	if withRow {
		req[s.ScheduleTable] = types.KeysAndAttributes{
			Keys:           []map[string]types.AttributeValue{{group.FieldMeetingID: &types.AttributeValueMemberS{Value: meetingID}}},
			ConsistentRead: aws.Bool(true),
		}
	}
	var batchErr error
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				batchErr = fmt.Errorf("read answer of %s/%s: keys still unprocessed after retries", clip(meetingID), clip(memberID))
				break
			}
			if batchErr = sleep(ctx, backoff(attempt)); batchErr != nil {
				break
			}
		}
		res, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			batchErr = fmt.Errorf("read answer of %s/%s: %w", clip(meetingID), clip(memberID), classify(err))
			break
		}
		for _, item := range res.Responses[s.ScheduleTable] {
			st.Row = RowFromItem(item)
		}
		for _, item := range res.Responses[s.StateTable] {
			if err := decodeAnswerStart(&st, item); err != nil {
				batchErr = fmt.Errorf("read answer of %s/%s: %w", clip(meetingID), clip(memberID), err)
				break
			}
		}
		req = res.UnprocessedKeys
	}
	wg.Wait()
	if batchErr != nil {
		return st, batchErr
	}
	if placesErr != nil {
		return st, placesErr
	}
	st.Going, st.Waiting, st.Held = mp.Going, mp.Waiting, mp
	return st, nil
}

func decodeAnswerStart(st *AnswerStart, item map[string]types.AttributeValue) error {
	pk, _ := item["pk"].(*types.AttributeValueMemberS)
	if pk == nil {
		return errors.New("an item without pk")
	}
	if pk.Value == membersPK {
		var it memberItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		st.Member, st.MemberFound = it.member(), true
		return nil
	}
	var it rsvpItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return err
	}
	r := it.rsvp()
	st.RSVP = &r
	return nil
}

// readMemberPlaces reads the COUNT item's numbers and memberID's own entries
// (a projection: the maps can hold thousands of entries).
func (s *Store) readMemberPlaces(ctx context.Context, meetingID, memberID string) (memberPlaces, error) {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.StateTable, Key: key(meetingPK(meetingID), countSK), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("going, waiting, seq, seats.#m, queue.#m, ver.#m"),
		ExpressionAttributeNames: map[string]string{"#m": memberID},
	})
	if err != nil {
		return memberPlaces{}, fmt.Errorf("read places of %s: %w", clip(meetingID), classify(err))
	}
	if res.Item == nil {
		return memberPlaces{}, nil
	}
	var it struct {
		Going   int               `dynamodbav:"going"`
		Waiting int               `dynamodbav:"waiting"`
		Seq     int64             `dynamodbav:"seq"`
		Seats   map[string]int    `dynamodbav:"seats"`
		Queue   map[string]string `dynamodbav:"queue"`
		Ver     map[string]int64  `dynamodbav:"ver"`
	}
	if err := attributevalue.UnmarshalMap(res.Item, &it); err != nil {
		return memberPlaces{}, fmt.Errorf("read places of %s: %w", clip(meetingID), err)
	}
	mp := memberPlaces{Exists: true, Going: it.Going, Waiting: it.Waiting, Seq: it.Seq, Version: it.Ver[memberID]}
	mp.Held, mp.Seated = it.Seats[memberID]
	mp.Entry, mp.Queued = it.Queue[memberID]
	return mp, nil
}

// Answer records a member's answer (with guests for a Yes) and gives or takes their
// place: a Yes gets a place if one is free and nobody is waiting, else joins the
// waitlist; leaving Yes frees the place for the first on the waitlist. capacity is
// the meeting's (0: no limit), guests is clamped by the caller to guests_max. source
// says where the answer came from (group.SourceLink, group.SourceCalendar); the RSVP
// keeps the latest one.
func (s *Store) Answer(ctx context.Context, meetingID, memberID string, a group.Answer, guests, capacity int, source string, now time.Time) (Booking, error) {
	mp, err := s.readMemberPlaces(ctx, meetingID, memberID)
	if err != nil {
		return Booking{}, err
	}
	return s.answer(ctx, meetingID, memberID, mp, a, guests, capacity, source, now)
}

// AnswerFrom is Answer from what ReadAnswerStart read (no read of its own).
func (s *Store) AnswerFrom(ctx context.Context, st AnswerStart, a group.Answer, guests, capacity int, source string, now time.Time) (Booking, error) {
	mp, ok := st.Held.(memberPlaces)
	if !ok {
		return Booking{}, fmt.Errorf("record RSVP %s/%s: the answer's start was not read by ReadAnswerStart", clip(st.MeetingID), clip(st.MemberID))
	}
	return s.answer(ctx, st.MeetingID, st.MemberID, mp, a, guests, capacity, source, now)
}

// placeOf is where an entry of the COUNT item puts a member.
func placeOf(seated bool, held int, queued bool) (string, int) {
	switch {
	case seated:
		return group.PlaceGoing, held
	case queued:
		return group.PlaceWaitlisted, 0
	}
	return "", 0
}

func (s *Store) answer(ctx context.Context, meetingID, memberID string, mp memberPlaces, a group.Answer, guests, capacity int, source string, now time.Time) (Booking, error) {
	if a != group.Yes || guests < 0 {
		guests = 0
	}
	if source == "" {
		return Booking{}, fmt.Errorf("record RSVP %s/%s: no source (where the answer came from)", meetingID, memberID)
	}
	want := 0
	if a == group.Yes {
		want = 1 + guests
	}
	// Without a capacity the answer decides the place, so its mirror goes with it.
	open := capacity <= 0 && mp.Waiting == 0 && !mp.Queued

	// Trip 2: the answer, the click record and (first answer) the COUNT item.
	update := "SET answer = :a, guests = :g, answered_at = :now, #source = :source, " +
		"first_answered_at = if_not_exists(first_answered_at, :now)"
	values := map[string]types.AttributeValue{
		":a": str(string(a)), ":g": num(guests), ":now": str(now.UTC().Format(time.RFC3339Nano)), ":one": num(1),
		":source": str(source),
	}
	if open {
		update += ", seats = :seats"
		values[":seats"] = num(want)
		if want > 0 {
			update += ", place = :place"
			values[":place"] = str(group.PlaceGoing)
		}
	}
	update += " ADD changes :one, version :one"
	if open && want == 0 {
		update += " REMOVE place"
	}
	var wg sync.WaitGroup
	var countErr error
	if !mp.Exists {
		wg.Add(1)
		go func() { defer wg.Done(); countErr = s.ensureCount(ctx, meetingID) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.logClick(ctx, meetingID, memberID, "rsvp:"+string(a), now) }()
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(meetingPK(meetingID), rsvpPrefix+memberID),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  map[string]string{"#source": "source"}, // SOURCE is a DynamoDB reserved word
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	wg.Wait()
	if err != nil {
		return Booking{}, fmt.Errorf("record RSVP %s/%s: %w", meetingID, memberID, err)
	}
	if countErr != nil {
		return Booking{}, countErr
	}
	var written struct {
		rsvpItem
		Version int64 `dynamodbav:"version"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &written); err != nil || written.Version < 1 {
		return Booking{}, fmt.Errorf("record RSVP %s/%s: the answer came back without its version (%v)", meetingID, memberID, err)
	}
	b := Booking{RSVP: written.rsvp()}

	// Trip 3: the place, gated by this answer's version.
	out, err := s.place(ctx, meetingID, memberID, mp, want, written.Version, capacity, now)
	if err != nil {
		return Booking{}, err
	}
	b.GuestsRefused, b.Going, b.Waiting = out.refused, out.going, out.waiting
	place, seats := placeOf(out.seated, out.held, out.queued)
	if out.superseded {
		// A newer answer of this member got to the COUNT item first; it writes its
		// own mirror. Say what is recorded now.
		r, err := s.RSVP(ctx, meetingID, memberID)
		if err != nil {
			return Booking{}, err
		}
		b.RSVP = r
		place, seats = r.Place, r.Seats
	} else if !open || place != b.RSVP.Place || seats != b.RSVP.Seats {
		out.mirror = true
	}

	// Trip 4 (with a capacity): the mirror, the position, the promotion, at once.
	max := limit(capacity)
	var mirrorErr, posErr, promoteErr error
	var promoted []string
	var after Places
	needPromote := out.waiting > 0 && out.going < max
	if out.mirror {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r *group.RSVP
			r, mirrorErr = s.mirrorAnswer(ctx, meetingID, memberID, place, seats, out.seq, written.Version)
			if r != nil {
				b.RSVP = *r
			} else { // a newer answer writes the mirror; this one's place was this
				b.RSVP.Place, b.RSVP.Seats = place, seats
			}
		}()
	}
	if needPromote {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := Places{Going: out.going, Waiting: out.waiting, Seq: out.seq}
			promoted, after, promoteErr = s.promote(ctx, meetingID, capacity, now, &seen)
		}()
	} else if place == group.PlaceWaitlisted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p Places
			if p, posErr = s.Places(ctx, meetingID); posErr == nil {
				b.Position = p.Position(memberID)
			}
		}()
	}
	wg.Wait()
	for _, err := range []error{mirrorErr, posErr, promoteErr} {
		if err != nil {
			return Booking{}, err
		}
	}
	if needPromote {
		b.Promoted, b.Going, b.Waiting = promoted, after.Going, after.Waiting
		if b.RSVP.Place == group.PlaceWaitlisted || containsID(promoted, memberID) {
			// The promotion ran beside this member's own mirror: read both back.
			r, err := s.RSVP(ctx, meetingID, memberID)
			if err != nil {
				return Booking{}, err
			}
			b.RSVP = r
			if r.Place == group.PlaceWaitlisted {
				p, err := s.Places(ctx, meetingID)
				if err != nil {
					return Booking{}, err
				}
				b.Position = p.Position(memberID)
			}
		}
	}
	return b, nil
}

func containsID(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// placed is what trip 3 left in the COUNT item for the member.
type placed struct {
	going, waiting int
	seq            int64
	seated, queued bool
	held           int
	refused        int
	superseded     bool // a newer answer's version was there: nothing written
	mirror         bool
}

// place drives the member's entries in the COUNT item to want places (0: none),
// in one conditional UpdateItem gated by the answer's version. When the condition
// fails (another click got there first) it reads the member's entries again and
// retries; if a newer version is there, the newer answer owns the place.
func (s *Store) place(ctx context.Context, meetingID, memberID string, mp memberPlaces, want int, version int64, capacity int, now time.Time) (placed, error) {
	max := limit(capacity)
	refused := 0
	for attempt := 0; ; attempt++ {
		if attempt > 50 {
			return placed{}, fmt.Errorf("place of %s/%s: still contended after %d attempts", meetingID, memberID, attempt)
		}
		if attempt > 3 {
			if err := sleep(ctx, time.Duration(attempt)*time.Millisecond); err != nil {
				return placed{}, err
			}
		}
		if attempt > 0 {
			var err error
			if mp, err = s.readMemberPlaces(ctx, meetingID, memberID); err != nil {
				return placed{}, err
			}
		}
		if mp.Version >= version {
			return placed{going: mp.Going, waiting: mp.Waiting, seq: mp.Seq, seated: mp.Seated, held: mp.Held, queued: mp.Queued, superseded: true}, nil
		}
		// One write: the member's entries, going and waiting by deltas (so the
		// answer carries both), the version; conditions on what was read.
		c := countChange{values: map[string]types.AttributeValue{}}
		res := placed{seated: mp.Seated, held: mp.Held, queued: mp.Queued}
		switch {
		case want > 0 && mp.Seated && mp.Held > want: // fewer guests: give places back
			c.set("seats.#m = :n", ":n", num(want))
			c.dGoing = want - mp.Held
			c.cond("seats.#m = :held", ":held", num(mp.Held))
			res.held = want
		case want > 0 && mp.Seated && mp.Held < want && refused == 0 && mp.Waiting == 0 && mp.Going+want-mp.Held <= max:
			// more guests: only if they fit and nobody waits
			c.set("seats.#m = :n", ":n", num(want))
			c.dGoing = want - mp.Held
			c.cond("seats.#m = :held AND waiting = :zero AND going <= :room", ":held", num(mp.Held), ":zero", num(0), ":room", num(max-(want-mp.Held)))
			res.held = want
		case mp.Seated && want > 0: // the same, or more guests that do not fit: keep the place
			if mp.Held < want {
				refused = want - mp.Held
			}
			c.cond("seats.#m = :held", ":held", num(mp.Held))
		case want > 0 && mp.Queued:
			e := mp.Entry
			if entryPlaces(e) != want {
				e = strings.SplitN(e, "|", 2)[0] + "|" + strconv.Itoa(want)
				c.set("queue.#m = :new", ":new", str(e))
			}
			c.cond("queue.#m = :old", ":old", str(mp.Entry))
		case want > 0 && mp.Waiting == 0 && mp.Going+want <= max:
			c.set("seats.#m = :n", ":n", num(want))
			c.dGoing = want
			c.cond("attribute_not_exists(seats.#m) AND attribute_not_exists(queue.#m) AND waiting = :zero AND going <= :room", ":zero", num(0), ":room", num(max-want))
			res.seated, res.held = true, want
		case want > 0: // full, or someone is waiting: join the queue
			c.set("queue.#m = :e", ":e", str(queueEntry(now, want)))
			c.dWaiting = 1
			c.cond("attribute_not_exists(seats.#m) AND attribute_not_exists(queue.#m)")
			res.queued = true
		case mp.Seated:
			c.remove("seats.#m")
			c.dGoing = -mp.Held
			c.cond("seats.#m = :held", ":held", num(mp.Held))
			res.seated, res.held = false, 0
		case mp.Queued:
			c.remove("queue.#m")
			c.dWaiting = -1
			c.cond("queue.#m = :e", ":e", str(mp.Entry))
			res.queued = false
		default:
			c.cond("attribute_not_exists(seats.#m) AND attribute_not_exists(queue.#m)")
		}
		ok, counts, err := s.changeCount(ctx, meetingID, memberID, c, version)
		if err != nil {
			return placed{}, err
		}
		if !ok {
			continue
		}
		res.going, res.waiting, res.seq, res.refused = counts.Going, counts.Waiting, counts.Seq, refused
		return res, nil
	}
}

// countChange is one conditional write of the COUNT item for one member (#m).
type countChange struct {
	sets, removes, conds []string
	values               map[string]types.AttributeValue
	dGoing, dWaiting     int
}

func (c *countChange) set(expr string, kv ...any)  { c.sets = append(c.sets, expr); c.put(kv) }
func (c *countChange) cond(expr string, kv ...any) { c.conds = append(c.conds, expr); c.put(kv) }
func (c *countChange) remove(path string)          { c.removes = append(c.removes, path) }
func (c *countChange) put(kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		c.values[kv[i].(string)] = kv[i+1].(types.AttributeValue)
	}
}

// changeCount runs c on the COUNT item, setting the member's version under the
// gate (no version there, or an older one). It reports false when a condition did
// not hold, and the numbers after the write. going and waiting are always in the
// update (by a delta, maybe 0), so UPDATED_NEW returns them with seq.
func (s *Store) changeCount(ctx context.Context, meetingID, memberID string, c countChange, version int64) (bool, Places, error) {
	sets := append([]string{"going = going + :dg", "waiting = waiting + :dw", "ver.#m = :v"}, c.sets...)
	update := "SET " + strings.Join(sets, ", ")
	if len(c.removes) > 0 {
		update += " REMOVE " + strings.Join(c.removes, ", ")
	}
	update += " ADD seq :one"
	conds := append([]string{"(attribute_not_exists(ver.#m) OR ver.#m < :v)"}, c.conds...)
	values := map[string]types.AttributeValue{
		":dg": num(c.dGoing), ":dw": num(c.dWaiting), ":one": num(1),
		":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)},
	}
	for k, v := range c.values {
		values[k] = v
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.StateTable,
		Key:                       key(meetingPK(meetingID), countSK),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames:  map[string]string{"#m": memberID},
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueUpdatedNew,
	}
	res, err := s.DB.UpdateItem(ctx, in)
	if err != nil && !isConditionFailed(err) && errors.Is(classify(err), ErrInvalid) {
		// A COUNT item made before the version gate has no ver map to set an
		// entry in: add the empty map once, then write again.
		if err := s.addVersions(ctx, meetingID); err != nil {
			return false, Places{}, err
		}
		res, err = s.DB.UpdateItem(ctx, in)
	}
	if isConditionFailed(err) {
		return false, Places{}, nil
	}
	if err != nil {
		return false, Places{}, fmt.Errorf("update places of %s for %s: %w", meetingID, memberID, err)
	}
	var out struct {
		Going   *int   `dynamodbav:"going"`
		Waiting *int   `dynamodbav:"waiting"`
		Seq     *int64 `dynamodbav:"seq"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &out); err != nil {
		return false, Places{}, fmt.Errorf("read places of %s after updating %s: %w", meetingID, memberID, err)
	}
	if out.Going == nil || out.Waiting == nil || out.Seq == nil || *out.Seq <= 0 {
		return false, Places{}, fmt.Errorf("places of %s after updating %s: going, waiting or seq missing from the answer", meetingID, memberID)
	}
	return true, Places{Going: *out.Going, Waiting: *out.Waiting, Seq: *out.Seq}, nil
}

// addVersions gives an older COUNT item its (empty) map of answer versions.
func (s *Store) addVersions(ctx context.Context, meetingID string) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable, Key: key(meetingPK(meetingID), countSK),
		UpdateExpression:          aws.String("SET ver = :empty"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(ver)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("add answer versions to places of %s: %w", meetingID, err)
	}
	return nil
}

// mirrorAnswer writes the member's place onto their RSVP item (after trip 3, and
// in Reconcile): only while no newer COUNT state (count_seq) is mirrored there and,
// with a version above 0, only while the item still carries that answer. It
// returns the RSVP as recorded, or nil when the condition did not hold (a newer
// answer is on its way and writes its own mirror, or a newer state is there).
func (s *Store) mirrorAnswer(ctx context.Context, meetingID, memberID, place string, seats int, seq, version int64) (*group.RSVP, error) {
	values := map[string]types.AttributeValue{
		":seq": &types.AttributeValueMemberN{Value: strconv.FormatInt(seq, 10)}, ":seats": num(seats),
	}
	cond := "attribute_exists(pk) AND (attribute_not_exists(count_seq) OR count_seq <= :seq)"
	if version > 0 {
		cond += " AND version = :v"
		values[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)}
	}
	update := "SET count_seq = :seq, seats = :seats"
	if place == "" {
		update += " REMOVE place"
	} else {
		update += ", place = :place"
		values[":place"] = str(place)
	}
	res, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.StateTable, Key: key(meetingPK(meetingID), rsvpPrefix+memberID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mirror place of %s/%s: %w", meetingID, memberID, err)
	}
	var it rsvpItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return nil, fmt.Errorf("mirror place of %s/%s: %w", meetingID, memberID, err)
	}
	r := it.rsvp()
	return &r, nil
}
