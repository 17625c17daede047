package dynamo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/afterparty/afterparty/shared/dynamo"
)

// TestRequestDynamoDBRefusesIsNotAnOutage: a key DynamoDB refuses (a partition key
// over 2,048 bytes) is the caller's mistake, told apart from an outage by
// ErrInvalid, and the error does not carry the whole key.
func TestRequestDynamoDBRefusesIsNotAnOutage(t *testing.T) {
	s := newStore(t)
	id := strings.Repeat("x", 2049)
	tests := []struct {
		name string
		call func() error
	}{
		{"schedule row", func() error { _, err := s.ScheduleRow(ctx, id); return err }},
		{"member", func() error { _, err := s.Member(ctx, id); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, dynamo.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), id) {
				t.Fatalf("the error holds the whole 2,049-byte key")
			}
		})
	}
}
