package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/afterparty/afterparty/shared/group"
)

// ScheduleRows reads every row of the schedule table. The schedule is the
// organizers' short list of meetings (dozens of rows), so a paginated Scan is the
// right read; it is not on any per-member path.
func (s *Store) ScheduleRows(ctx context.Context) ([]group.Row, error) {
	var rows []group.Row
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{TableName: &s.ScheduleTable, ConsistentRead: ptr(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read schedule table %s: %w", s.ScheduleTable, err)
		}
		for _, item := range page.Items {
			rows = append(rows, RowFromItem(item))
		}
	}
	return rows, nil
}

// ScheduleRow reads one meeting's row.
func (s *Store) ScheduleRow(ctx context.Context, meetingID string) (group.Row, error) {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.ScheduleTable,
		Key:            map[string]types.AttributeValue{group.FieldMeetingID: &types.AttributeValueMemberS{Value: meetingID}},
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read meeting %s: %w", clip(meetingID), classify(err))
	}
	if res.Item == nil {
		return nil, ErrNotFound
	}
	return RowFromItem(res.Item), nil
}

// PutScheduleRow writes a row as organizers would in the console: numbers as N.
func (s *Store) PutScheduleRow(ctx context.Context, row group.Row) error {
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.ScheduleTable, Item: ItemFromRow(row)})
	if err != nil {
		return fmt.Errorf("write meeting %s: %w", row[group.FieldMeetingID].Text, err)
	}
	return nil
}

// DeleteScheduleRow removes a meeting's row.
func (s *Store) DeleteScheduleRow(ctx context.Context, meetingID string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.ScheduleTable,
		Key:       map[string]types.AttributeValue{group.FieldMeetingID: &types.AttributeValueMemberS{Value: meetingID}},
	})
	return err
}

// RowFromItem turns a schedule item into an untrusted row, keeping each attribute's type.
func RowFromItem(item map[string]types.AttributeValue) group.Row {
	row := group.Row{}
	for name, av := range item {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			row[name] = group.Value{Type: "S", Text: v.Value}
		case *types.AttributeValueMemberN:
			row[name] = group.Value{Type: "N", Text: v.Value}
		case *types.AttributeValueMemberBOOL:
			row[name] = group.Value{Type: "BOOL", Text: strconv.FormatBool(v.Value)}
		case *types.AttributeValueMemberNULL:
			row[name] = group.Value{Type: "S"}
		default:
			row[name] = group.Value{Type: "other"}
		}
	}
	return row
}

// ItemFromRow turns a row into a schedule item; number fields that parse become N.
func ItemFromRow(row group.Row) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{}
	for name, v := range row {
		text := strings.TrimSpace(v.Text)
		switch {
		case group.NumberFields[name] && isNumber(text):
			item[name] = &types.AttributeValueMemberN{Value: text}
		case v.Type == "BOOL":
			item[name] = &types.AttributeValueMemberBOOL{Value: text == "true"}
		case text == "" && name != group.FieldMeetingID:
			continue // DynamoDB keeps no empty attribute worth having
		default:
			item[name] = &types.AttributeValueMemberS{Value: v.Text}
		}
	}
	return item
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func ptr[T any](v T) *T { return &v }
