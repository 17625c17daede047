package config

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/logging"
)

func TestDefaultsFitTheLocalStack(t *testing.T) {
	c, err := Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://127.0.0.1:8080" || c.ScheduleTable != "afterparty-schedule" || c.Leads.Invitation != 14*24*time.Hour || c.ClaimLease != 2*time.Minute || c.JoinPerClientHour != 10 || c.JoinPerHour != 200 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	tests := map[string]string{
		"AFTERPARTY_FROM":                 "not an address",
		"AFTERPARTY_TIME_ZONE":            "Mars/Base",
		"AFTERPARTY_BASE_URL":             "ftp://x",
		"AFTERPARTY_REMINDER_LEAD":        "soon",
		"AFTERPARTY_MAX_SEND_RATE":        "-1",
		"AFTERPARTY_ORGANIZERS":           "a@b.example, nope",
		"AFTERPARTY_CLAIM_LEASE":          "0s",
		"AFTERPARTY_INVITATION_LEAD":      "-3d",
		"AFTERPARTY_JOIN_PER_CLIENT_HOUR": "0",
		"AFTERPARTY_JOIN_PER_HOUR":        "lots",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(func(n string) (string, bool) {
				if n == name {
					return value, true
				}
				return "", false
			})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("want an error naming %s, got %v", name, err)
			}
		})
	}
}

// The README's table of variables is the organizers' reference: every variable the
// code reads must be in it.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(append(append([]Var{}, Vars...), LocalAWS[:2]...), LocalPorts...) {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}

// The CLI's local endpoints follow the ports infra/stack.sh honours, unless the
// SDK's own endpoint variables say otherwise.
func TestLocalEndpointsFollowThePorts(t *testing.T) {
	env := map[string]string{"AFTERPARTY_LOCAL_DYNAMODB_PORT": "18000", "AFTERPARTY_LOCAL_SES_PORT": "18005"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	_, ep, err := AWS(context.Background(), getenv, true)
	if err != nil {
		t.Fatal(err)
	}
	if ep.DynamoDB != "http://127.0.0.1:18000" || ep.SESv2 != "http://127.0.0.1:18005" {
		t.Errorf("endpoints %+v, want the ports 18000 and 18005", ep)
	}
	env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9999"
	if _, ep, _ = AWS(context.Background(), getenv, true); ep.DynamoDB != "http://127.0.0.1:9999" {
		t.Errorf("AWS_ENDPOINT_URL_DYNAMODB given, endpoint %s", ep.DynamoDB)
	}
	env["AFTERPARTY_LOCAL_DYNAMODB_PORT"] = "80000"
	if _, _, err := AWS(context.Background(), getenv, true); err == nil || !strings.Contains(err.Error(), "AFTERPARTY_LOCAL_DYNAMODB_PORT") {
		t.Errorf("port 80000: %v", err)
	}
}

// The AWS clients' logger drops smithy-go's connection-reuse warnings and keeps
// every other message.
func TestSDKLoggerDropsBodyWarnings(t *testing.T) {
	var got []string
	l := sdkLogger{next: logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		got = append(got, fmt.Sprintf(format, v...))
	})}
	l.Logf(logging.Warn, "failed to discard remaining HTTP response body, this may affect connection reuse: %v", "unexpected EOF")
	l.Logf(logging.Warn, "failed to close HTTP response body, this may affect connection reuse: %v", "checksum")
	l.Logf(logging.Warn, "falling back to IMDSv1: %v", "403")
	if len(got) != 1 || !strings.Contains(got[0], "IMDSv1") {
		t.Errorf("logged %q, want only the IMDS warning", got)
	}
	cfg, _, err := AWS(context.Background(), func(string) (string, bool) { return "", false }, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(sdkLogger); !ok {
		t.Errorf("the AWS configuration logs with %T", cfg.Logger)
	}
}
