package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// faultyDB is the emulator's client with PutItem and UpdateItem answers that a test
// can change: a fake over the real thing, so everything else behaves as in AWS.
type faultyDB struct {
	dynamo.API
	PutItemFn    func(*dynamodb.PutItemInput) error
	UpdateItemFn func(*dynamodb.UpdateItemInput, *dynamodb.UpdateItemOutput)
}

func (f *faultyDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.PutItemFn != nil {
		if err := f.PutItemFn(in); err != nil {
			return nil, err
		}
	}
	return f.API.PutItem(ctx, in, opts...)
}

func (f *faultyDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := f.API.UpdateItem(ctx, in, opts...)
	if err == nil && f.UpdateItemFn != nil {
		f.UpdateItemFn(in, out)
	}
	return out, err
}

func sortKey(item map[string]types.AttributeValue) string {
	if s, ok := item["sk"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// A click record that cannot be written does not fail the member's answer, but it
// is logged (with the member id, not silently dropped).
func TestLostClickRecordIsLogged(t *testing.T) {
	s := newStore(t)
	db := &faultyDB{API: s.DB, PutItemFn: func(in *dynamodb.PutItemInput) error {
		if strings.HasPrefix(sortKey(in.Item), "CLICK#") {
			return errors.New("injected: throughput exceeded")
		}
		return nil
	}}
	var logs bytes.Buffer
	s.DB, s.Log = db, slog.New(slog.NewJSONHandler(&logs, nil))
	if err := s.SetPubAnswer(ctx, "click-meeting", "m0001", true, time.Date(2031, 3, 13, 21, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("the answer must be recorded even when its click record is lost: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"click not kept", `"member":"m0001"`, `"meeting":"click-meeting"`, "injected: throughput exceeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// An answer from the places update that cannot be read is an error, never seq 0
// (which would let any older mirror overwrite this member's place).
func TestUnreadableCountSeqIsAnError(t *testing.T) {
	tests := []struct {
		name string
		seq  types.AttributeValue // nil: missing from the answer
	}{
		{"seq of the wrong type", &types.AttributeValueMemberS{Value: "seven"}},
		{"seq missing", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			meeting := "seq-" + string(rune('a'+i))
			s.DB = &faultyDB{API: s.DB, UpdateItemFn: func(in *dynamodb.UpdateItemInput, out *dynamodb.UpdateItemOutput) {
				if sortKey(in.Key) == "COUNT" && out.Attributes != nil {
					if tt.seq == nil {
						delete(out.Attributes, "seq")
					} else {
						out.Attributes["seq"] = tt.seq
					}
				}
			}}
			_, err := s.Answer(ctx, meeting, "m0001", group.Yes, 0, 10, group.SourceLink, time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC))
			if err == nil || !strings.Contains(err.Error(), "places of "+meeting) {
				t.Fatalf("Answer = %v, want an error naming the places of %s", err, meeting)
			}
		})
	}
}
