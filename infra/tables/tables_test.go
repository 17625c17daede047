package tables_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/tables"
	"github.com/afterparty/afterparty/shared/config"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }

func templatePath(t *testing.T) string {
	t.Helper()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "template.yaml")
}

// tableIDs lists the AWS::DynamoDB::Table resources of a template with a plain
// YAML parser, independently of goformation.
func tableIDs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type string `yaml:"Type"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::DynamoDB::Table" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestEveryTemplateTableIsCoveredAndCreated proves template.yaml, EnvNames and
// shared/config agree, and that every table of the template is created in the
// emulator with the template's keys.
func TestEveryTemplateTableIsCoveredAndCreated(t *testing.T) {
	path := templatePath(t)
	ids := tableIDs(t, path)
	if len(ids) == 0 {
		t.Fatal("template.yaml has no AWS::DynamoDB::Table")
	}
	inputs, err := tables.FromTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sortedKeys(inputs), ","), strings.Join(ids, ","); got != want {
		t.Fatalf("FromTemplate tables = %s, template.yaml has %s", got, want)
	}
	if got, want := strings.Join(sortedKeys(tables.EnvNames), ","), strings.Join(ids, ","); got != want {
		t.Fatalf("EnvNames covers %s, template.yaml has %s", got, want)
	}
	documented := map[string]bool{}
	for _, v := range config.Vars {
		documented[v.Name] = true
	}
	for id, env := range tables.EnvNames {
		if !documented[env] {
			t.Errorf("EnvNames[%s] = %s, which shared/config.Vars does not define", id, env)
		}
	}

	s := localstack.Get(t)
	names := s.NewTableSet(t)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			out, err := s.Dynamo().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(names[id])})
			if err != nil {
				t.Fatal(err)
			}
			if out.Table.TableStatus != types.TableStatusActive {
				t.Errorf("status %s, want ACTIVE", out.Table.TableStatus)
			}
			if got, want := keys(out.Table.KeySchema), keys(inputs[id].KeySchema); got != want {
				t.Errorf("key schema %s, template says %s", got, want)
			}
			if got, want := len(out.Table.GlobalSecondaryIndexes), len(inputs[id].GlobalSecondaryIndexes); got != want {
				t.Errorf("%d GSIs, template says %d", got, want)
			}
		})
	}
}

func keys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return strings.Join(parts, ",")
}

// A template with a GSI, an LSI, intrinsics, and SAM resources.
const indexedTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: test
Resources:
  Ledger:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub ledger-${Stage}
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: email, AttributeType: S}
        - {AttributeName: at, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-email
          KeySchema:
            - {AttributeName: email, KeyType: HASH}
          Projection:
            ProjectionType: INCLUDE
            NonKeyAttributes: [status]
      LocalSecondaryIndexes:
        - IndexName: by-time
          KeySchema:
            - {AttributeName: pk, KeyType: HASH}
            - {AttributeName: at, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Runtime: provided.al2023
      CodeUri: .
      Environment:
        Variables:
          TABLE: !Ref Ledger
          URL: !GetAtt FnUrl.FunctionUrl
`

func TestFromTemplate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    map[string]string // logical id -> summary
		wantErr string
	}{
		{
			name: "indexes and intrinsics",
			yaml: indexedTemplate,
			want: map[string]string{"Ledger": "PAY_PER_REQUEST pk:HASH,sk:RANGE attrs=pk:S,sk:S,email:S,at:N " +
				"gsi=by-email(email:HASH INCLUDE [status]) lsi=by-time(pk:HASH,at:RANGE KEYS_ONLY [])"},
		},
		{
			name: "goformation rejects a SAM resource: tables alone still parse",
			yaml: indexedTemplate + `
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: [not, a, number]
`,
			want: map[string]string{"Ledger": "PAY_PER_REQUEST pk:HASH,sk:RANGE attrs=pk:S,sk:S,email:S,at:N " +
				"gsi=by-email(email:HASH INCLUDE [status]) lsi=by-time(pk:HASH,at:RANGE KEYS_ONLY [])"},
		},
		{
			name: "provisioned throughput is kept",
			yaml: `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
`,
			want: map[string]string{"T": "PROVISIONED id:HASH attrs=id:S rcu=2 wcu=3"},
		},
		{
			name: "no tables",
			yaml: "Resources:\n  S:\n    Type: AWS::SNS::Topic\n",
			want: map[string]string{},
		},
		{
			name:    "a table without keys",
			yaml:    "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n",
			wantErr: "table T: no KeySchema",
		},
		{
			name:    "a malformed table",
			yaml:    "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      KeySchema: 5\n",
			wantErr: "parse template",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := tables.FromTemplate(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("tables %v, want %v", sortedKeys(got), sortedKeys(tt.want))
			}
			for id, want := range tt.want {
				in, ok := got[id]
				if !ok {
					t.Fatalf("no table %s in %v", id, sortedKeys(got))
				}
				if in.TableName != nil {
					t.Errorf("TableName = %q, want nil: the caller names tables", *in.TableName)
				}
				if s := summary(in); s != want {
					t.Errorf("table %s:\n got %s\nwant %s", id, s, want)
				}
			}
		})
	}
}

func summary(in *dynamodb.CreateTableInput) string {
	var attrs []string
	for _, a := range in.AttributeDefinitions {
		attrs = append(attrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	s := string(in.BillingMode) + " " + keys(in.KeySchema) + " attrs=" + strings.Join(attrs, ",")
	for _, g := range in.GlobalSecondaryIndexes {
		s += " gsi=" + aws.ToString(g.IndexName) + "(" + keys(g.KeySchema) + " " + string(g.Projection.ProjectionType) +
			" [" + strings.Join(g.Projection.NonKeyAttributes, ",") + "])"
	}
	for _, l := range in.LocalSecondaryIndexes {
		s += " lsi=" + aws.ToString(l.IndexName) + "(" + keys(l.KeySchema) + " " + string(l.Projection.ProjectionType) +
			" [" + strings.Join(l.Projection.NonKeyAttributes, ",") + "])"
	}
	if p := in.ProvisionedThroughput; p != nil {
		s += " rcu=" + strconv.FormatInt(aws.ToInt64(p.ReadCapacityUnits), 10) + " wcu=" + strconv.FormatInt(aws.ToInt64(p.WriteCapacityUnits), 10)
	}
	return s
}

func TestCreate(t *testing.T) {
	s := localstack.Get(t)
	client := s.Dynamo()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(indexedTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "create-test-ledger"
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	tests := []struct {
		name    string
		names   map[string]string
		wantErr string
	}{
		{name: "creates with indexes", names: map[string]string{"Ledger": name}},
		{name: "an existing table is fine", names: map[string]string{"Ledger": name}},
		{name: "every table needs a name", names: map[string]string{}, wantErr: "no physical name given for table Ledger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tables.Create(ctx, client, path, tt.names)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			tbl := out.Table
			if tbl.TableStatus != types.TableStatusActive || len(tbl.GlobalSecondaryIndexes) != 1 || len(tbl.LocalSecondaryIndexes) != 1 {
				t.Errorf("table %s: status %s, %d GSIs, %d LSIs; want ACTIVE, 1, 1",
					name, tbl.TableStatus, len(tbl.GlobalSecondaryIndexes), len(tbl.LocalSecondaryIndexes))
			}
			if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
				t.Errorf("billing mode %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
			}
		})
	}
}
