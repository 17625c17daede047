// Package iam reads what template.yaml allows each function to do: for every
// AWS::Serverless::Function, the (Action, Resource) pairs its Policies grant, with
// resources named by the template's logical ids rather than ARNs, in the terms
// infra/strict's Recorder uses for what the code really calls:
//
//	table/<table logical id>                a DynamoDB table (!GetAtt T.Arn)
//	secret/<secret logical id>              a Secrets Manager secret (!Ref S)
//	identity/${FromDomain}                  the SES identity, as the template writes it
//	configuration-set/<logical id>          the SES configuration set
//	bucket/<bucket logical id>              objects in an S3 bucket (!Sub ${B.Arn}/prefix*):
//	                                        the prefix is not compared
//	*                                       every resource
//
// Only explicit Statement policies are read: a SAM policy template
// (DynamoDBCrudPolicy, ...), a managed policy, a Deny, a Condition or a resource
// form it cannot name is an error, so nothing the template grants goes unseen.
// What SAM adds by itself (the basic execution role's logs permissions, the
// on-failure destination's sqs:SendMessage) is not a Policies entry and not read.
package iam

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/afterparty/afterparty/infra/cfnyaml"
)

// Grant is one action allowed on one resource.
type Grant struct {
	Action   string
	Resource string
}

const functionType = "AWS::Serverless::Function"

// Granted returns, per function logical id, the sorted distinct grants of the
// function's Policies in the template at templatePath. Statements in Globals'
// Function Policies are not supported (SAM does not merge Policies from Globals
// into a function that has its own; the template has none).
func Granted(templatePath string) (map[string][]Grant, error) {
	tpl, err := cfnyaml.Load(templatePath)
	if err != nil {
		return nil, err
	}
	return granted(tpl)
}

func granted(tpl map[string]any) (map[string][]Grant, error) {
	resources, _ := tpl["Resources"].(map[string]any)
	if len(resources) == 0 {
		return nil, fmt.Errorf("template has no Resources")
	}
	if g, ok := tpl["Globals"].(map[string]any); ok {
		if f, ok := g["Function"].(map[string]any); ok && f["Policies"] != nil {
			return nil, fmt.Errorf("Globals.Function.Policies is not supported: give each function its own")
		}
	}
	types := map[string]string{}
	for id, r := range resources {
		if m, ok := r.(map[string]any); ok {
			types[id], _ = m["Type"].(string)
		}
	}
	out := map[string][]Grant{}
	for id, r := range resources {
		if types[id] != functionType {
			continue
		}
		props, _ := r.(map[string]any)["Properties"].(map[string]any)
		grants, err := functionGrants(props, types)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		out[id] = grants
	}
	return out, nil
}

func functionGrants(props map[string]any, types map[string]string) ([]Grant, error) {
	set := map[Grant]bool{}
	var policies []any
	switch p := props["Policies"].(type) {
	case nil:
	case []any:
		policies = p
	default:
		policies = []any{p}
	}
	for i, p := range policies {
		m, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy %d: %v is a managed policy or policy ARN, which this package does not read: write a Statement", i, p)
		}
		stmts, ok := m["Statement"]
		if !ok || len(m) > 2 || (len(m) == 2 && m["Version"] == nil) {
			return nil, fmt.Errorf("policy %d: %v is a SAM policy template or not a policy document: write a Statement", i, keys(m))
		}
		list, ok := stmts.([]any)
		if !ok {
			list = []any{stmts}
		}
		for j, s := range list {
			if err := statement(s, types, set); err != nil {
				return nil, fmt.Errorf("policy %d statement %d: %w", i, j, err)
			}
		}
	}
	out := make([]Grant, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Grant) int {
		return cmp.Or(cmp.Compare(a.Action, b.Action), cmp.Compare(a.Resource, b.Resource))
	})
	return out, nil
}

func statement(s any, types map[string]string, set map[Grant]bool) error {
	m, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("not a mapping")
	}
	for k := range m {
		switch k {
		case "Effect", "Action", "Resource", "Sid":
		default:
			return fmt.Errorf("%s is not supported (only Effect, Action, Resource, Sid)", k)
		}
	}
	if m["Effect"] != "Allow" {
		return fmt.Errorf("Effect %v is not supported (only Allow)", m["Effect"])
	}
	actions, err := strings1(m["Action"])
	if err != nil || len(actions) == 0 {
		return fmt.Errorf("Action: want a string or a list of strings, got %v", m["Action"])
	}
	var resources []any
	switch r := m["Resource"].(type) {
	case []any:
		resources = r
	case nil:
		return fmt.Errorf("no Resource")
	default:
		resources = []any{r}
	}
	for _, r := range resources {
		name, err := resourceName(r, types)
		if err != nil {
			return err
		}
		for _, a := range actions {
			if strings.Contains(a, "*") {
				return fmt.Errorf("action %q: wildcards are not allowed", a)
			}
			set[Grant{Action: a, Resource: name}] = true
		}
	}
	return nil
}

// sesARN is how the template writes an SES resource ARN in a !Sub.
var sesARN = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:ses:\$\{AWS::Region\}:\$\{AWS::AccountId\}:(identity|configuration-set)/(.+)$`)

// s3ObjectARN is how the template writes objects of a bucket in a !Sub.
var s3ObjectARN = regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\.Arn\}/.+$`)

// logicalRef is a whole ${Name} in a !Sub: a parameter or a resource's Ref.
var logicalRef = regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\}$`)

func resourceName(r any, types map[string]string) (string, error) {
	switch v := r.(type) {
	case string:
		if v == "*" {
			return "*", nil
		}
		return "", fmt.Errorf("resource %q: a literal ARN cannot be named by logical id", v)
	case map[string]any:
		if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
			id, _ := ga[0].(string)
			if types[id] == "AWS::DynamoDB::Table" {
				return "table/" + id, nil
			}
			return "", fmt.Errorf("resource !GetAtt %s.Arn: %s is not a DynamoDB table", id, id)
		}
		if ref, ok := v["Ref"].(string); ok && types[ref] == "AWS::SecretsManager::Secret" {
			return "secret/" + ref, nil
		}
		if sub, ok := v["Fn::Sub"].(string); ok {
			if m := sesARN.FindStringSubmatch(sub); m != nil {
				kind, name := m[1], m[2]
				// A resource's Ref is named by its logical id; a parameter stays as written.
				if lr := logicalRef.FindStringSubmatch(name); lr != nil && types[lr[1]] != "" {
					name = lr[1]
				}
				return kind + "/" + name, nil
			}
			if m := s3ObjectARN.FindStringSubmatch(sub); m != nil && types[m[1]] == "AWS::S3::Bucket" {
				return "bucket/" + m[1], nil
			}
		}
	}
	return "", fmt.Errorf("resource %v: not a form this package can name (table !GetAtt T.Arn, secret !Ref S, SES !Sub ARN, S3 objects !Sub ${B.Arn}/..., or \"*\")", r)
}

func strings1(v any) ([]string, error) {
	switch a := v.(type) {
	case string:
		return []string{a}, nil
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string or list", v)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
