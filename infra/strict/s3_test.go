package strict_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
)

// s3Client is an S3 client for the local stack's S3, path-style, signing as caller.
func s3Client(t *testing.T, caller string) *s3.Client {
	t.Helper()
	stack := localstack.Get(t)
	return s3.NewFromConfig(aws.Config{
		Region:      localstack.Region,
		Credentials: credentials.NewStaticCredentialsProvider(caller, "local", ""),
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(stack.S3URL)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
}

func TestS3(t *testing.T) {
	stack := localstack.Get(t)
	ctx := context.Background()
	client := s3Client(t, "s3-test")
	bucket := localstack.LocalInboundBucket
	get := func(key string) ([]byte, error) {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		return io.ReadAll(out.Body)
	}

	t.Run("what the test stores is read back", func(t *testing.T) {
		msg := []byte("From: ada@example.org\r\nSubject: Accepted\r\n\r\nYes.\r\n")
		stack.S3.Put(bucket, "inbound/stored-by-ses", msg)
		got, err := get("inbound/stored-by-ses")
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("GetObject = %q, %v; want %q", got, err, msg)
		}
	})
	t.Run("PutObject through the SDK, 5 MB", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big"), Body: bytes.NewReader(big)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		got, err := get("big")
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("GetObject: %d bytes, %v; want the %d stored", len(got), err, len(big))
		}
	})
	t.Run("NoSuchKey", func(t *testing.T) {
		_, err := get("inbound/never-stored")
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) {
			t.Fatalf("GetObject of a missing key: %v; want the typed NoSuchKey", err)
		}
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "NoSuchKey" || api.ErrorMessage() != "The specified key does not exist." {
			t.Fatalf("error %v; want NoSuchKey: The specified key does not exist.", err)
		}
	})
	t.Run("NoSuchBucket", func(t *testing.T) {
		_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "NoSuchBucket" {
			t.Fatalf("GetObject from a missing bucket: %v; want NoSuchBucket", err)
		}
	})
	t.Run("KeyTooLongError", func(t *testing.T) {
		_, err := get(strings.Repeat("k", 1025))
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "KeyTooLongError" {
			t.Fatalf("GetObject with a 1025-byte key: %v; want KeyTooLongError", err)
		}
	})
	t.Run("other calls are refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, stack.S3URL+"/"+bucket+"/big", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotImplemented {
			t.Fatalf("DELETE answered %d, want 501", res.StatusCode)
		}
	})
	t.Run("the recorder sees each call on its bucket", func(t *testing.T) {
		want := []strict.Call{
			{Action: "s3:GetObject", Resource: "bucket/" + bucket},
			{Action: "s3:GetObject", Resource: "bucket/no-such-bucket"},
			{Action: "s3:PutObject", Resource: "bucket/" + bucket},
		}
		if got := stack.Recorder.Calls("s3-test"); !slices.Equal(got, want) {
			t.Fatalf("recorded %v, want %v", got, want)
		}
	})
}
