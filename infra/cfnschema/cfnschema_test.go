package cfnschema

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/afterparty/afterparty/infra/cfnyaml"
)

func templatePath(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "template.yaml")
}

// TestTemplateFitsTheSchema checks every property of every resource of
// template.yaml (Globals merged into the functions) against its resource schema.
func TestTemplateFitsTheSchema(t *testing.T) {
	problems, err := CheckFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestMisspelledPropertiesAreReported breaks template.yaml one property at a time,
// at several depths and in several resource types, and wants each reported.
func TestMisspelledPropertiesAreReported(t *testing.T) {
	data, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, resource, detail string }{
		{"      MessageRetentionPeriod: 1209600", "      MessageRetentionPeriode: 1209600", "FailedRunsQueue", "MessageRetentionPeriode"},
		{"      ReservedConcurrentExecutions: !Ref WebMaxConcurrency", "      ReservedConcurentExecutions: !Ref WebMaxConcurrency", "WebFunction", "ReservedConcurentExecutions"},
		{"        PointInTimeRecoveryEnabled: true", "        PointInTimeRecoveryEnable: true", "ScheduleTable", "PointInTimeRecoveryEnable"},
		{"      TreatMissingData: notBreaching", "      TreatMisingData: notBreaching", "InvitationsFunctionErrorsAlarm", "TreatMisingData"},
		{"        LogFormat: JSON\n        LogGroup: !Ref WebFunctionLogGroup", "        LogFormat: JSON\n        LogGroupName: !Ref WebFunctionLogGroup", "WebFunction", "LogGroupName"},
		{"    LoggingConfig:\n      LogFormat: JSON\n    Environment:", "    LoggingConfig:\n      LogFromat: JSON\n    Environment:", "InvitationsFunction", "LogFromat"},
		{"    DeletionPolicy: Retain", "    DeletionPolicy: Keep", "ScheduleTable", "DeletionPolicy"},
		{"      RetentionInDays: !Ref LogRetentionDays", "      RetentionInDays: [90]", "InvitationsFunctionLogGroup", "RetentionInDays"},
		{"        TlsPolicy: Require", "        TlsPolicey: Require", "ReplyRule", "TlsPolicey"},
		{"              ObjectKeyPrefix: inbound/", "              ObjectKeyPrefixes: inbound/", "ReplyRule", "ObjectKeyPrefixes"},
		{"            ExpirationInDays: 30", "            ExpirationDays: 30", "InboundBucket", "ExpirationDays"},
		{"      RuleSetName: !Sub ${AWS::StackName}-replies", "      Name: !Sub ${AWS::StackName}-replies", "ReplyRuleSet", "Name"},
	} {
		src := string(data)
		if !strings.Contains(src, c.from) {
			t.Fatalf("template.yaml no longer has %q: update this test", c.from)
		}
		src = strings.Replace(src, c.from, c.to, 1)
		tpl, err := cfnyaml.Parse([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		problems, err := Check(tpl)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range problems {
			if p.Resource == c.resource && strings.Contains(p.Detail, c.detail) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q -> %q: not reported for %s; got %v", c.from, c.to, c.resource, problems)
		}
	}
}

func TestUnknownResourceTypeIsReported(t *testing.T) {
	tpl, err := cfnyaml.Parse([]byte("Resources:\n  Q:\n    Type: AWS::SQS::Queu\n"))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Resource != "Q" {
		t.Errorf("got %v, want one problem for Q", problems)
	}
}
