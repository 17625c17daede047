package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/afterparty/afterparty/shared/group"
)

// The organizers' own icebreaker questions, drawn before the shipped bank:
//
//	QUESTIONS           / <question id>           an organizer's question, with who added it when
const questionsPK = "QUESTIONS"

// Question is an organizer's own icebreaker question.
type Question = group.Question

// questionItem is a Question as stored: QUESTIONS / <question id>.
type questionItem struct {
	PK      string    `dynamodbav:"pk"`
	SK      string    `dynamodbav:"sk"`
	Text    string    `dynamodbav:"question"`
	AddedAt time.Time `dynamodbav:"added_at"`
}

// ErrDuplicate is a question that is already in the organizers' list.
var ErrDuplicate = errors.New("already in the list")

// QuestionID keys a question by its text, ignoring case and spacing, so the same
// question added twice is one item.
func QuestionID(q string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Join(strings.Fields(q), " "))))
	return "q" + hex.EncodeToString(sum[:8])
}

// AddQuestion adds an organizer's question; ErrDuplicate if it is there already.
func (s *Store) AddQuestion(ctx context.Context, q string, now time.Time) error {
	item, err := attributevalue.MarshalMap(questionItem{PK: questionsPK, SK: QuestionID(q), Text: q, AddedAt: now.UTC()})
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.StateTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("add icebreaker question: %w", err)
	}
	return nil
}

// Questions is every organizer question, oldest first.
func (s *Store) Questions(ctx context.Context) ([]Question, error) {
	var out []Question
	for after := ""; ; {
		items, next, err := s.queryPage(ctx, questionsPK, "", after, 0)
		if err != nil {
			return nil, fmt.Errorf("read icebreaker questions: %w", err)
		}
		for _, item := range items {
			var q questionItem
			if err := attributevalue.UnmarshalMap(item, &q); err != nil {
				return nil, err
			}
			out = append(out, Question{ID: q.SK, Text: q.Text, AddedAt: q.AddedAt})
		}
		if next == "" {
			break
		}
		after = next
	}
	// oldest first: the order organizers added them
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].AddedAt.Before(out[j-1].AddedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}
