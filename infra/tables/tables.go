// Package tables turns the AWS::DynamoDB::Table resources of template.yaml into
// DynamoDB CreateTable calls, so the local stack and the tests create exactly the
// tables that a deployment creates: template.yaml stays their single definition.
package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"gopkg.in/yaml.v3"
)

// EnvNames maps each table's logical id in template.yaml to the environment variable
// that carries its physical name (see shared/config). A test proves every table in
// the template is listed here.
var EnvNames = map[string]string{
	"ScheduleTable": "AFTERPARTY_SCHEDULE_TABLE",
	"StateTable":    "AFTERPARTY_STATE_TABLE",
}

// tableType is the CloudFormation type this package reads.
const tableType = "AWS::DynamoDB::Table"

// FromTemplate reads the template at path and returns one CreateTableInput per
// AWS::DynamoDB::Table resource, keyed by logical id. TableName is left nil: the
// caller picks the physical name (Create does).
//
// goformation parses the whole template, SAM resources and intrinsics included. If
// it rejects something outside the tables (a SAM property it does not model), the
// tables are parsed on their own: the template's Parameters, Mappings, Conditions
// and table resources, still from the same file.
func FromTemplate(path string) (map[string]*dynamodb.CreateTableInput, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return fromYAML(data)
}

func fromYAML(data []byte) (map[string]*dynamodb.CreateTableInput, error) {
	tpl, err := goformation.ParseYAML(data)
	if err != nil {
		only, xerr := onlyTables(data)
		if xerr != nil {
			return nil, fmt.Errorf("parse template: %w (and extracting its tables: %v)", err, xerr)
		}
		var terr error
		if tpl, terr = goformation.ParseYAML(only); terr != nil {
			return nil, fmt.Errorf("parse template: %w (and its tables alone: %v)", err, terr)
		}
	}
	return fromCloudFormation(tpl)
}

func fromCloudFormation(tpl *cloudformation.Template) (map[string]*dynamodb.CreateTableInput, error) {
	out := map[string]*dynamodb.CreateTableInput{}
	for id, t := range tpl.GetAllDynamoDBTableResources() {
		in, err := createTableInput(t)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", id, err)
		}
		out[id] = in
	}
	return out, nil
}

// onlyTables re-encodes the template keeping the sections intrinsics may refer to
// and the table resources, dropping every other resource.
func onlyTables(data []byte) ([]byte, error) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	res, ok := doc["Resources"]
	if !ok || res.Kind != yaml.MappingNode {
		return nil, errors.New("no Resources mapping")
	}
	kept := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(res.Content); i += 2 {
		var r struct {
			Type string `yaml:"Type"`
		}
		if err := res.Content[i+1].Decode(&r); err == nil && r.Type == tableType {
			kept.Content = append(kept.Content, res.Content[i], res.Content[i+1])
		}
	}
	out := map[string]any{"Resources": kept}
	for _, s := range []string{"AWSTemplateFormatVersion", "Parameters", "Mappings", "Conditions"} {
		if n, ok := doc[s]; ok {
			out[s] = &n
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func createTableInput(t *cfndynamodb.Table) (*dynamodb.CreateTableInput, error) {
	if len(t.KeySchema) == 0 {
		return nil, errors.New("no KeySchema")
	}
	in := &dynamodb.CreateTableInput{
		KeySchema:   keySchema(t.KeySchema),
		BillingMode: types.BillingModePayPerRequest,
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	provisioned := t.BillingMode != nil && *t.BillingMode == string(types.BillingModeProvisioned)
	if provisioned {
		if t.ProvisionedThroughput == nil {
			return nil, errors.New("BillingMode PROVISIONED without ProvisionedThroughput")
		}
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = throughput(t.ProvisionedThroughput)
	}
	for _, g := range t.GlobalSecondaryIndexes {
		gsi := types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: projection(g.Projection),
		}
		if provisioned && g.ProvisionedThroughput != nil {
			gsi.ProvisionedThroughput = throughput(g.ProvisionedThroughput)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	for _, l := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	if s := t.StreamSpecification; s != nil {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(s.StreamViewType),
		}
	}
	return in, nil
}

func keySchema(ks []cfndynamodb.Table_KeySchema) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       types.KeyType(k.KeyType),
		})
	}
	return out
}

func projection(p *cfndynamodb.Table_Projection) *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	if p == nil {
		return out
	}
	if p.ProjectionType != nil {
		out.ProjectionType = types.ProjectionType(*p.ProjectionType)
	}
	out.NonKeyAttributes = p.NonKeyAttributes
	return out
}

func throughput(p *cfndynamodb.Table_ProvisionedThroughput) *types.ProvisionedThroughput {
	return &types.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(int64(p.ReadCapacityUnits)),
		WriteCapacityUnits: aws.Int64(int64(p.WriteCapacityUnits)),
	}
}

// Create creates every table of the template, each under the physical name that
// names gives for its logical id, and waits until all are ACTIVE. A table that
// already exists is left as it is. Every table of the template must be named.
func Create(ctx context.Context, client *dynamodb.Client, templatePath string, names map[string]string) error {
	inputs, err := FromTemplate(templatePath)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(inputs))
	for id := range inputs {
		if names[id] == "" {
			return fmt.Errorf("create tables: no physical name given for table %s of %s", id, templatePath)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		in := *inputs[id]
		in.TableName = aws.String(names[id])
		if _, err := client.CreateTable(ctx, &in); err != nil {
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) {
				return fmt.Errorf("create table %s (%s): %w", names[id], id, err)
			}
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 20 * time.Millisecond
		o.MaxDelay = time.Second
	})
	for _, id := range ids {
		in := &dynamodb.DescribeTableInput{TableName: aws.String(names[id])}
		if err := waiter.Wait(ctx, in, 2*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s (%s): %w", names[id], id, err)
		}
	}
	return nil
}
