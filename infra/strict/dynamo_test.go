package strict_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func nested(levels int) types.AttributeValue {
	var v types.AttributeValue = s("x")
	for range levels {
		v = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": v}}
	}
	return v
}

// TestDynamoRules sends, through the local stack's DynamoDB address, one request
// for each rule of RULES.md that DynamoDB refuses, and checks DynamoDB's answer:
// a ValidationException with DynamoDB's message. Rows the emulator enforces itself
// are here too, so a change of emulator cannot drop them unnoticed.
func TestDynamoRules(t *testing.T) {
	stack := localstack.Get(t)
	names := stack.NewTableSet(t)
	state := names["StateTable"]
	db := stack.Dynamo()
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("a", n) }
	q := func(cond string, values map[string]types.AttributeValue) func() error {
		return func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &state, KeyConditionExpression: &cond, ExpressionAttributeValues: values})
			return err
		}
	}
	cases := []struct {
		rule string
		call func() error
		want string
	}{
		{"D1 empty partition key in a key condition", q("pk = :pk", map[string]types.AttributeValue{":pk": s("")}),
			"The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{"D1 empty begins_with in a key condition", q("pk = :pk AND begins_with(sk, :p)", map[string]types.AttributeValue{":pk": s("MEMBERS"), ":p": s("")}),
			"The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"},
		{"D1 empty BETWEEN bound", q("pk = :pk AND sk BETWEEN :a AND :b", map[string]types.AttributeValue{":pk": s("M"), ":a": s(""), ":b": s("z")}),
			"The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"},
		{"D1 empty binary through a name placeholder", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &state, KeyConditionExpression: aws.String("#p = :pk AND #s > :b"),
				ExpressionAttributeNames:  map[string]string{"#p": "pk", "#s": "sk"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("M"), ":b": &types.AttributeValueMemberB{Value: []byte{}}}})
			return err
		}, "The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk"},
		{"D2 partition key over 2048 bytes in a key condition", q("pk = :pk", map[string]types.AttributeValue{":pk": s(long(2049))}),
			"Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{"D2 sort key over 1024 bytes in a key condition", q("pk = :pk AND sk >= :s", map[string]types.AttributeValue{":pk": s("M"), ":s": s(long(1025))}),
			"Aggregated size of all range keys has exceeded the size limit of 1024 bytes"},
		{"D3 expression over 4 KB", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &state, Key: key("a", "b"), ProjectionExpression: aws.String(long(4097))})
			return err
		}, "Expression size has exceeded the maximum allowed size"},
		{"D4 placeholder over 255 bytes", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: aws.String("SET v = :" + long(256)),
				ExpressionAttributeValues: map[string]types.AttributeValue{":" + long(256): s("x")}})
			return err
		}, "ExpressionAttributeValues contains invalid key"},
		{"D5 substitutions over 2 MB", func() error {
			vals := map[string]types.AttributeValue{}
			expr := "SET "
			for i := range 6 {
				p := ":v" + strconv.Itoa(i)
				vals[p] = s(long(390 << 10))
				if i > 0 {
					expr += ", "
				}
				expr += "a" + strconv.Itoa(i) + " = " + p
			}
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: &expr, ExpressionAttributeValues: vals})
			return err
		}, "exceed the maximum allowed size of 2 MB"},
		{"D6 nesting deeper than 32 levels", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b"), "v": nested(33)}})
			return err
		}, "Nesting Levels have exceeded supported limits"},
		{"D7 values without an expression", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: key("a", "b"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x")}})
			return err
		}, "ExpressionAttributeValues can only be specified when using expressions"},
		{"D8 BatchWriteItem over 16 MB", func() error {
			var reqs []types.WriteRequest
			for i := range 25 {
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
					"pk": s("big"), "sk": s(strconv.Itoa(i)), "v": s(long(390 << 10)), "w": s(long(300 << 10))}}})
			}
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{state: reqs}})
			return err
		}, "BatchWriteItem"},
		{"D9 empty attribute name", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b"), "": s("x")}})
			return err
		}, "An attribute name cannot be empty"},
		{"D10 attribute name over 64 KB", func() error {
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{state: {{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk": s("a"), "sk": s("b"), long(64<<10 + 1): s("x")}}}}}})
			return err
		}, "more than the 64 KB allowed"},
		// Enforced by dynalite itself; checked here all the same.
		{"E1 empty sort key in Item", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: key("a", "")})
			return err
		}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"},
		{"E1 empty sort key in Key", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &state, Key: key("a", "")})
			return err
		}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"},
		{"E1 empty key in ExclusiveStartKey", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &state, KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("a")}, ExclusiveStartKey: key("a", "")})
			return err
		}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"},
		{"E1 empty key in BatchGetItem", func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{state: {Keys: []map[string]types.AttributeValue{key("", "b")}}}})
			return err
		}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{"E2 partition key over 2048 bytes in Key", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &state, Key: key(long(2049), "b")})
			return err
		}, "Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{"E3 item over 400 KB", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b"), "v": s(long(401 << 10))}})
			return err
		}, "Item size has exceeded the maximum allowed size"},
		{"E4 26 writes in a batch", func() error {
			var reqs []types.WriteRequest
			for i := range 26 {
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: key("a", strconv.Itoa(i))}})
			}
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{state: reqs}})
			return err
		}, "Member must have length less than or equal to 25"},
		{"E5 duplicate keys in a batch", func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{state: {Keys: []map[string]types.AttributeValue{key("a", "b"), key("a", "b")}}}})
			return err
		}, "Provided list of item keys contains duplicates"},
		{"E6 unused expression value", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: aws.String("SET v = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x"), ":w": s("y")}})
			return err
		}, "Value provided in ExpressionAttributeValues unused in expressions"},
		{"E7 update of a key attribute", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: aws.String("SET sk = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x")}})
			return err
		}, "Cannot update attribute sk. This attribute is part of the key"},
		{"E8 reserved word unescaped", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: aws.String("SET status = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x")}})
			return err
		}, "Attribute name is a reserved keyword"},
		{"E9 more than 38 digits", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b"),
				"n": &types.AttributeValueMemberN{Value: "123456789012345678901234567890123456789"}}})
			return err
		}, "Attempting to store more than 38 significant digits in a Number"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			err := c.call()
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
				t.Fatalf("got %v, want a ValidationException", err)
			}
			if !strings.Contains(api.ErrorMessage(), c.want) {
				t.Fatalf("message %q, want it to contain %q", api.ErrorMessage(), c.want)
			}
		})
	}

	// What DynamoDB accepts still goes through: a whole partition, a prefix, a
	// value at the limits, an empty string outside the key.
	ok := []struct {
		name string
		call func() error
	}{
		{"put at the key limits", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &state, Item: map[string]types.AttributeValue{
				"pk": s(long(2048)), "sk": s(long(1024)), "note": s(""), "v": nested(31)}})
			return err
		}},
		{"query at the key limits", q("pk = :pk AND begins_with(sk, :p)", map[string]types.AttributeValue{":pk": s(long(2048)), ":p": s(long(1024))})},
		{"query a whole partition", q("pk = :pk", map[string]types.AttributeValue{":pk": s("MEMBERS")})},
		{"condition on an empty non-key value", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &state, Key: key("a", "b"), UpdateExpression: aws.String("SET v = :v"),
				ConditionExpression: aws.String("attribute_not_exists(v) OR v <> :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x"), ":e": s("")}})
			return err
		}},
	}
	for _, c := range ok {
		if err := c.call(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestRecorderNamesCallerActionAndTable: the layer records each call under the
// access key id that signed it.
func TestRecorderNamesCallerActionAndTable(t *testing.T) {
	stack := localstack.Get(t)
	names := stack.NewTableSet(t)
	state := names["StateTable"]
	cfg := stack.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("recorder-test", "local", "")
	db := dynamodb.NewFromConfig(cfg, stack.DynamoOption())
	if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &state, Key: key("a", "b")}); err != nil {
		t.Fatal(err)
	}
	_, _ = db.BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{state: {Keys: []map[string]types.AttributeValue{key("a", "b")}}}})
	got := stack.Recorder.Calls("recorder-test")
	want := []strict.Call{{Action: "dynamodb:BatchGetItem", Resource: "table/" + state}, {Action: "dynamodb:GetItem", Resource: "table/" + state}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("recorded %v, want %v", got, want)
	}
}
