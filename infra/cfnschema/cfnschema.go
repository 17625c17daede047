// Package cfnschema checks every property of every resource of a CloudFormation /
// SAM template against the resource's JSON schema.
//
// Tool and schema: github.com/santhosh-tekuri/jsonschema/v5 (v5.3.1, draft 4)
// validating against the CloudFormation + SAM resource schema that
// github.com/awslabs/goformation/v7 v7.14.9 embeds (schema.SamSchema, generated
// from the CloudFormation resource specification and SAM's schema as of
// 2024-04). Every definition has additionalProperties false, so a misspelled or
// unknown property, a wrong type or a missing required property is reported.
//
// Two adjustments, both stated here:
//   - An intrinsic function ({"Ref": ...}, {"Fn::...": ...}, {"Condition": ...};
//     infra/cfnyaml turns the short YAML tags into these) is accepted wherever a
//     property value is, as CloudFormation resolves it before the resource sees it.
//   - goformation's SAM part is older than some SAM properties the template uses;
//     samPatches adds them, each as SAM's documentation defines it (mostly "passed
//     directly to" a CloudFormation property, whose schema is then used).
//
// SAM's Globals.Function is merged into each AWS::Serverless::Function first, as
// SAM does, so the globals are checked too.
package cfnschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/afterparty/afterparty/infra/cfnyaml"
)

// samPatches are the SAM properties goformation v7.14.9's schema lacks or gets
// wrong, keyed by definition; each value replaces or adds one property's schema.
// Sources: the AWS SAM Developer Guide pages named in each comment.
var samPatches = map[string]map[string]any{
	// sam-resource-function: LoggingConfig "is passed directly to the LoggingConfig
	// property of an AWS::Lambda::Function resource".
	"AWS::Serverless::Function#Properties": {
		"LoggingConfig": ref("AWS::Lambda::Function.LoggingConfig"),
	},
	// sam-property-function-schedule: RetryPolicy is passed to AWS::Events::Rule
	// Target RetryPolicy; DeadLetterConfig is sam-property-function-scheduledeadletterconfig
	// (Arn, QueueLogicalId, Type).
	"AWS::Serverless::Function.ScheduleEvent": {
		"RetryPolicy": ref("AWS::Events::Rule.RetryPolicy"),
		"DeadLetterConfig": map[string]any{
			"type": "object", "additionalProperties": false,
			"properties": map[string]any{
				"Arn": map[string]any{"type": "string"}, "QueueLogicalId": map[string]any{"type": "string"},
				"Type": map[string]any{"enum": []any{"SQS"}},
			},
		},
	},
	// sam-property-function-dynamodb: FilterCriteria "is passed directly to the
	// FilterCriteria property of an AWS::Lambda::EventSourceMapping resource".
	"AWS::Serverless::Function.DynamoDBEvent": {
		"FilterCriteria": ref("AWS::Lambda::EventSourceMapping.FilterCriteria"),
	},
}

// samOptional lists definitions whose "required" goformation gets wrong:
// sam-property-function-eventinvokedestinationconfig says OnFailure and OnSuccess
// are each "Required: No".
var samOptional = []string{"AWS::Serverless::Function.EventInvokeDestinationConfig"}

func ref(def string) map[string]any { return map[string]any{"$ref": "#/definitions/" + def} }

// Problem is one property that does not fit its resource's schema.
type Problem struct {
	Resource string // logical id
	Type     string
	Detail   string // the validator's account, with the property's location
}

func (p Problem) String() string { return fmt.Sprintf("%s (%s): %s", p.Resource, p.Type, p.Detail) }

// CheckFile checks the template at path.
func CheckFile(path string) ([]Problem, error) {
	tpl, err := cfnyaml.Load(path)
	if err != nil {
		return nil, err
	}
	return Check(tpl)
}

// Check checks a template as infra/cfnyaml reads it. It returns the problems
// found, sorted by resource; an error only when it could not check at all.
func Check(tpl map[string]any) ([]Problem, error) {
	resources, ok := tpl["Resources"].(map[string]any)
	if !ok || len(resources) == 0 {
		return nil, errors.New("template has no Resources")
	}
	var types []string
	for _, r := range resources {
		if m, ok := r.(map[string]any); ok {
			if t, ok := m["Type"].(string); ok {
				types = append(types, t)
			}
		}
	}
	c, err := compiler(types)
	if err != nil {
		return nil, err
	}
	var globals map[string]any
	if g, ok := tpl["Globals"].(map[string]any); ok {
		globals, _ = g["Function"].(map[string]any)
	}
	var out []Problem
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r, ok := resources[id].(map[string]any)
		if !ok {
			out = append(out, Problem{Resource: id, Detail: "not a mapping"})
			continue
		}
		typ, _ := r["Type"].(string)
		if typ == "AWS::Serverless::Function" && globals != nil {
			r = maps.Clone(r)
			props, _ := r["Properties"].(map[string]any)
			r["Properties"] = merge(globals, props)
		}
		sch, err := c.schemaOf(typ)
		if err != nil {
			out = append(out, Problem{Resource: id, Type: typ, Detail: err.Error()})
			continue
		}
		// Round-trip through JSON: the validator wants JSON's number types.
		var doc any
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		if err := sch.Validate(doc); err != nil {
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			for _, leaf := range leaves(ve) {
				out = append(out, Problem{Resource: id, Type: typ, Detail: leaf})
			}
		}
	}
	return out, nil
}

// merge is SAM's Globals merge: maps merge key by key, the function's value wins
// otherwise.
func merge(global, local map[string]any) map[string]any {
	out := maps.Clone(global)
	for k, lv := range local {
		gm, gok := out[k].(map[string]any)
		lm, lok := lv.(map[string]any)
		if gok && lok {
			out[k] = merge(gm, lm)
			continue
		}
		out[k] = lv
	}
	return out
}

// leaves is the innermost errors of a validation, "at <property path>: <what>".
func leaves(ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		return []string{fmt.Sprintf("at %s: %s", ve.InstanceLocation, ve.Message)}
	}
	// Under anyOf every branch failed; its causes are every branch's: the ones
	// against the intrinsic branch say nothing, drop them.
	var out []string
	for _, c := range ve.Causes {
		if strings.Contains(c.Message, intrinsicDef) || strings.Contains(c.AbsoluteKeywordLocation, intrinsicDef) {
			continue
		}
		out = append(out, leaves(c)...)
	}
	if len(out) == 0 {
		return []string{fmt.Sprintf("at %s: %s", ve.InstanceLocation, ve.Message)}
	}
	return out
}

const intrinsicDef = "afterparty.Intrinsic"

// defs is goformation's schema definitions, patched, read once.
var (
	once    sync.Once
	defs    map[string]any
	loadErr error
)

func definitions() (map[string]any, error) {
	once.Do(func() { defs, loadErr = load() })
	return defs, loadErr
}

func load() (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(schema.SamSchema), &doc); err != nil {
		return nil, fmt.Errorf("goformation's SAM schema: %w", err)
	}
	defs, ok := doc["definitions"].(map[string]any)
	if !ok {
		return nil, errors.New("goformation's SAM schema has no definitions")
	}
	if err := patch(defs); err != nil {
		return nil, err
	}
	return defs, nil
}

type compiled struct {
	c    *jsonschema.Compiler
	defs map[string]any
}

// compiler compiles the definitions the given resource types reach (the whole
// schema is 7 MB; a template uses a few dozen definitions of it), with intrinsic
// functions allowed.
func compiler(types []string) (*compiled, error) {
	all, err := definitions()
	if err != nil {
		return nil, err
	}
	reached := map[string]any{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(r, "#/definitions/")
				if _, seen := reached[name]; !seen {
					if d, ok := all[name]; ok {
						reached[name] = d
						walk(d)
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, t := range types {
		walk(ref(t))
	}
	// A deep copy (through JSON) so that allowIntrinsics leaves the shared definitions alone.
	b, err := json.Marshal(reached)
	if err != nil {
		return nil, err
	}
	var sub map[string]any
	if err := json.Unmarshal(b, &sub); err != nil {
		return nil, err
	}
	for k, d := range sub {
		sub[k] = allowIntrinsics(d)
	}
	sub[intrinsicDef] = map[string]any{
		"type": "object", "minProperties": 1, "maxProperties": 1,
		"patternProperties":    map[string]any{`^(Ref|Condition|Fn::[A-Za-z0-9]+)$`: map[string]any{}},
		"additionalProperties": false,
	}
	if b, err = json.Marshal(map[string]any{"definitions": sub}); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft4
	if err := c.AddResource("cfn.json", strings.NewReader(string(b))); err != nil {
		return nil, fmt.Errorf("load schema: %w", err)
	}
	return &compiled{c: c, defs: sub}, nil
}

func patch(defs map[string]any) error {
	for where, props := range samPatches {
		def, part, _ := strings.Cut(where, "#")
		d, ok := defs[def].(map[string]any)
		if !ok {
			return fmt.Errorf("schema patch: no definition %s", def)
		}
		if part != "" {
			if d, ok = d["properties"].(map[string]any)[part].(map[string]any); !ok {
				return fmt.Errorf("schema patch: %s has no %s", def, part)
			}
		}
		p, ok := d["properties"].(map[string]any)
		if !ok {
			return fmt.Errorf("schema patch: %s has no properties", where)
		}
		for k, v := range props {
			p[k] = v
		}
	}
	for _, def := range samOptional {
		d, ok := defs[def].(map[string]any)
		if !ok {
			return fmt.Errorf("schema patch: no definition %s", def)
		}
		delete(d, "required")
	}
	return nil
}

// allowIntrinsics lets an intrinsic function stand for any property value: every
// schema in a value position (properties, patternProperties, additionalProperties,
// items) becomes anyOf [itself, intrinsic].
func allowIntrinsics(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	for _, kw := range []string{"properties", "patternProperties"} {
		if props, ok := m[kw].(map[string]any); ok {
			for k, v := range props {
				props[k] = orIntrinsic(allowIntrinsics(v))
			}
		}
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		m["additionalProperties"] = orIntrinsic(allowIntrinsics(ap))
	}
	switch it := m["items"].(type) {
	case map[string]any:
		m["items"] = orIntrinsic(allowIntrinsics(it))
	case []any:
		for i, v := range it {
			it[i] = orIntrinsic(allowIntrinsics(v))
		}
	}
	for _, kw := range []string{"anyOf", "oneOf", "allOf"} {
		if list, ok := m[kw].([]any); ok {
			for i, v := range list {
				list[i] = allowIntrinsics(v)
			}
		}
	}
	return m
}

func orIntrinsic(s any) any {
	return map[string]any{"anyOf": []any{s, ref(intrinsicDef)}}
}

func (c *compiled) schemaOf(typ string) (*jsonschema.Schema, error) {
	if _, ok := c.defs[typ]; !ok || typ == "" || typ == intrinsicDef {
		return nil, fmt.Errorf("resource type %q is not in the schema", typ)
	}
	s, err := c.c.Compile("cfn.json#/definitions/" + typ)
	if err != nil {
		return nil, fmt.Errorf("compile the schema of %s: %w", typ, err)
	}
	return s, nil
}
