package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Mail received on the reply domain: one item per message, so a message SES
// delivers twice (it delivers at least once) or a client sends twice is handled once:
//
//	INBOUND#<sha-256 of the message id> / MESSAGE    received_at, outcome
const inboundSK = "MESSAGE"

func inboundPK(messageID string) string {
	sum := sha256.Sum256([]byte(messageID))
	return "INBOUND#" + hex.EncodeToString(sum[:16])
}

// ClaimInbound marks a received message as being handled; false if it was handled
// (or is being handled) already. ReleaseInbound undoes a claim whose handling
// failed, so SES's retry handles it again.
func (s *Store) ClaimInbound(ctx context.Context, messageID string, now time.Time) (bool, error) {
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.StateTable,
		Item: map[string]types.AttributeValue{
			"pk":          &types.AttributeValueMemberS{Value: inboundPK(messageID)},
			"sk":          &types.AttributeValueMemberS{Value: inboundSK},
			"received_at": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	default:
		return false, fmt.Errorf("claim received message: %w", err)
	}
}

// ReleaseInbound forgets a received message, so it is handled again.
func (s *Store) ReleaseInbound(ctx context.Context, messageID string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.StateTable,
		Key:       key(inboundPK(messageID), inboundSK),
	})
	if err != nil {
		return fmt.Errorf("release received message: %w", err)
	}
	return nil
}
