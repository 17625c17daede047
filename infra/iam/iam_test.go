package iam

import (
	"cmp"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
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

func grants(resource string, actions ...string) []Grant {
	out := make([]Grant, len(actions))
	for i, a := range actions {
		out[i] = Grant{Action: a, Resource: resource}
	}
	return out
}

// TestGrantedReadsTheTemplate pins what template.yaml grants, as derived from the
// code (see the comments beside each policy in the template).
func TestGrantedReadsTheTemplate(t *testing.T) {
	got, err := Granted(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	send := []Grant{
		{"ses:SendEmail", "configuration-set/ConfigurationSet"},
		{"ses:SendEmail", "identity/${FromDomain}"},
	}
	secret := []Grant{{"secretsmanager:GetSecretValue", "secret/LinkSecret"}}
	scheduled := func(state ...string) []Grant {
		var g []Grant
		g = append(g, grants("table/StateTable", state...)...)
		g = append(g, Grant{"dynamodb:Scan", "table/ScheduleTable"})
		g = append(g, secret...)
		g = append(g, Grant{"ses:GetAccount", "*"})
		g = append(g, send...)
		return sorted(g)
	}
	all := []string{"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
	// Every scheduled function needs all of these: the shared send rate (GetItem,
	// UpdateItem), the calendar feed's copy of the schedule (PutItem), the ledger.
	want := map[string][]Grant{
		"InvitationsFunction": scheduled(all...),
		"RemindersFunction":   scheduled(all...),
		"TeasersFunction":     scheduled(all...),
		"PubFunction":         scheduled(all...),
		"DigestFunction":      scheduled(all...),
		"FeedbackFunction":    {{"dynamodb:UpdateItem", "table/StateTable"}},
		// No SES: the pages record their emails in the outbox (PutItem).
		"WebFunction": sorted(append(append(
			grants("table/StateTable", "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
			grants("table/ScheduleTable", "dynamodb:BatchGetItem", "dynamodb:GetItem")...), secret...)),
		// The outbox: no Scan (one meeting's row at a time); PutItem only for the capacity repair.
		"OutboxFunction": sorted(append(append(append(append(
			grants("table/StateTable", "dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
			grants("table/ScheduleTable", "dynamodb:GetItem")...), secret...), Grant{"ses:GetAccount", "*"}), send...)),
		"RepliesFunction": sorted(append(scheduled("dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
			Grant{"s3:GetObject", "bucket/InboundBucket"})),
	}
	if !reflect.DeepEqual(got, want) {
		for id := range want {
			if !reflect.DeepEqual(got[id], want[id]) {
				t.Errorf("%s:\n got  %v\n want %v", id, got[id], want[id])
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("unexpected function %s: %v", id, got[id])
			}
		}
	}
}

func sorted(g []Grant) []Grant {
	out := slices.Clone(g)
	slices.SortFunc(out, func(a, b Grant) int {
		return cmp.Or(cmp.Compare(a.Action, b.Action), cmp.Compare(a.Resource, b.Resource))
	})
	return out
}

// TestWebCannotScanOrDelete: the public function gets no Scan, BatchWriteItem or
// DeleteItem on any table (the calendar feed reads a copy of the schedule with
// GetItem).
func TestWebCannotScanOrDelete(t *testing.T) {
	got, err := Granted(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	web := got["WebFunction"]
	if len(web) == 0 {
		t.Fatal("WebFunction has no grants")
	}
	for _, g := range web {
		switch {
		case g.Action == "dynamodb:BatchWriteItem", g.Action == "dynamodb:DeleteItem", g.Action == "dynamodb:Scan":
			t.Errorf("WebFunction may %s on %s", g.Action, g.Resource)
		case strings.HasPrefix(g.Action, "dynamodb:") && g.Resource == "*":
			t.Errorf("WebFunction may %s on every table", g.Action)
		}
	}
}

func TestGrantedRefusesWhatItCannotName(t *testing.T) {
	head := "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n"
	for name, policies := range map[string]string{
		"SAM policy template":  "        - DynamoDBCrudPolicy:\n            TableName: !Ref T\n",
		"managed policy":       "        - AmazonDynamoDBFullAccess\n",
		"Deny":                 "        - Statement:\n            - Effect: Deny\n              Action: dynamodb:Scan\n              Resource: !GetAtt T.Arn\n",
		"Condition":            "        - Statement:\n            - Effect: Allow\n              Action: dynamodb:Scan\n              Resource: !GetAtt T.Arn\n              Condition: {Bool: {aws:SecureTransport: true}}\n",
		"literal ARN":          "        - Statement:\n            - Effect: Allow\n              Action: dynamodb:Scan\n              Resource: arn:aws:dynamodb:us-east-1:1:table/x\n",
		"wildcard action":      "        - Statement:\n            - Effect: Allow\n              Action: dynamodb:*\n              Resource: !GetAtt T.Arn\n",
		"not a table":          "        - Statement:\n            - Effect: Allow\n              Action: dynamodb:Scan\n              Resource: !GetAtt F.Arn\n",
		"objects of no bucket": "        - Statement:\n            - Effect: Allow\n              Action: s3:GetObject\n              Resource: !Sub ${T.Arn}/inbound/*\n",
		"a whole bucket":       "        - Statement:\n            - Effect: Allow\n              Action: s3:GetObject\n              Resource: !Sub ${T.Arn}\n",
	} {
		tpl, err := cfnyaml.Parse([]byte(head + policies))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g, err := granted(tpl); err == nil {
			t.Errorf("%s: read as %v, want an error", name, g)
		}
	}
}

func TestGrantedNamesResourcesLogically(t *testing.T) {
	tpl, err := cfnyaml.Parse([]byte(`
Resources:
  T:
    Type: AWS::DynamoDB::Table
  S:
    Type: AWS::SecretsManager::Secret
  C:
    Type: AWS::SES::ConfigurationSet
  B:
    Type: AWS::S3::Bucket
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:Query, dynamodb:GetItem]
              Resource: !GetAtt T.Arn
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref S
            - Effect: Allow
              Action: ses:SendEmail
              Resource:
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Domain}
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${C}
            - Effect: Allow
              Action: ses:GetAccount
              Resource: "*"
            - Effect: Allow
              Action: s3:GetObject
              Resource: !Sub ${B.Arn}/inbound/*
  G:
    Type: AWS::Serverless::Function
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := granted(tpl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Grant{
		"F": {
			{"dynamodb:GetItem", "table/T"},
			{"dynamodb:Query", "table/T"},
			{"s3:GetObject", "bucket/B"},
			{"secretsmanager:GetSecretValue", "secret/S"},
			{"ses:GetAccount", "*"},
			{"ses:SendEmail", "configuration-set/C"},
			{"ses:SendEmail", "identity/${Domain}"},
		},
		"G": {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
