package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/afterparty/afterparty/infra/tables"
)

// Region and the static credentials the emulators accept.
const (
	Region    = "us-east-1"
	AccessKey = "local"
	SecretKey = "local"
)

// AWSConfig is an SDK configuration with static credentials and the region; the
// endpoints are per service (DynamoOption, SESOption), as in the environment that
// Env describes.
func (s *Stack) AWSConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}
}

// DynamoOption points a DynamoDB client at the emulator.
func (s *Stack) DynamoOption() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(s.DynamoURL) }
}

// SESOption points an SES v2 client at the emulator.
func (s *Stack) SESOption() func(*sesv2.Options) {
	return func(o *sesv2.Options) { o.BaseEndpoint = aws.String(s.SESURL) }
}

// Dynamo is a DynamoDB client for the emulator.
func (s *Stack) Dynamo() *dynamodb.Client {
	return dynamodb.NewFromConfig(s.AWSConfig(), s.DynamoOption())
}

// SES is an SES v2 client for the emulator.
func (s *Stack) SES() *sesv2.Client {
	return sesv2.NewFromConfig(s.AWSConfig(), s.SESOption())
}

// TemplatePath is the repository's template.yaml.
func (s *Stack) TemplatePath() string {
	return filepath.Join(s.root, "template.yaml")
}

var tableSeq atomic.Int64

// NewTables creates a fresh schedule table and state table, named uniquely for
// this call, from template.yaml; they are deleted (and gone) when the test ends.
func (s *Stack) NewTables(tb testing.TB) (schedule, state string) {
	tb.Helper()
	names := s.NewTableSet(tb)
	return names["ScheduleTable"], names["StateTable"]
}

// NewTableSet creates every table of template.yaml under a unique name and returns
// the names keyed by logical id; they are deleted when the test ends.
func (s *Stack) NewTableSet(tb testing.TB) map[string]string {
	tb.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	prefix := "t" + hex.EncodeToString(suffix) + "-" + strconv.FormatInt(tableSeq.Add(1), 10)
	names := map[string]string{}
	for id := range tables.EnvNames {
		names[id] = prefix + "-" + strings.ToLower(strings.TrimSuffix(id, "Table"))
	}
	client := s.Dynamo()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Delete even what a failed Create made.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		gone := dynamodb.NewTableNotExistsWaiter(client, func(o *dynamodb.TableNotExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = 20*time.Millisecond, time.Second
		})
		for _, name := range names {
			_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			var notFound *types.ResourceNotFoundException
			if errors.As(err, &notFound) {
				continue
			}
			if err == nil {
				err = gone.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 20*time.Second)
			}
			if err != nil {
				tb.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	if err := tables.Create(ctx, client, s.TemplatePath(), names); err != nil {
		tb.Fatalf("localstack: %v", err)
	}
	return names
}

// Env is the environment of a child process (a function's bootstrap, the CLI) that
// uses this stack and these tables: the SDK's endpoint, region and credential
// variables, and the table variables of tables.EnvNames. Append it to os.Environ().
func (s *Stack) Env(schedule, state string) []string {
	env := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.DynamoURL,
		"AWS_ENDPOINT_URL_SESV2=" + s.SESURL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.SecretsURL,
		"AWS_ENDPOINT_URL_S3=" + s.S3URL,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
	}
	return append(env,
		tables.EnvNames["ScheduleTable"]+"="+schedule,
		tables.EnvNames["StateTable"]+"="+state,
	)
}
