// Package cfnyaml reads a CloudFormation (or SAM) template written in YAML into
// plain Go values, as the template's JSON form would decode: the short-form
// intrinsic function tags (!Ref, !GetAtt, !Sub, ...) become their long form
// ({"Ref": ...}, {"Fn::GetAtt": [...]}, {"Fn::Sub": ...}), mappings become
// map[string]any, sequences []any, and scalars string, int, float64 or bool.
package cfnyaml

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and converts the template at path.
func Load(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse converts a YAML template.
func Parse(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("parse template: not one YAML document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: the top level is not a mapping")
	}
	return m, nil
}

// standardTags are the YAML tags yaml.v3 gives untagged or explicitly typed nodes.
var standardTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!binary": true, "!!timestamp": true, "": true,
}

func convert(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return nil, fmt.Errorf("line %d: YAML aliases are not allowed in CloudFormation templates", n.Line)
	}
	tag := n.Tag
	if n.Style&yaml.TaggedStyle == 0 || standardTags[tag] {
		return plain(n)
	}
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown YAML tag %s", n.Line, tag)
	}
	name := strings.TrimPrefix(tag, "!")
	// The tag's value, read as an untagged node.
	cp := *n
	cp.Tag = ""
	cp.Style &^= yaml.TaggedStyle
	switch cp.Kind {
	case yaml.ScalarNode:
		cp.Tag = "!!str"
	case yaml.MappingNode:
		cp.Tag = "!!map"
	case yaml.SequenceNode:
		cp.Tag = "!!seq"
	}
	v, err := plain(&cp)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: key %q appears twice", n.Content[i].Line, k)
			}
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}
