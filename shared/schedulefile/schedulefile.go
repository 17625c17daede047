// Package schedulefile reads and writes the organizers' schedule YAML: a list of
// meetings (at the top level or under `meetings:`) using the schedule table's
// attribute names.
package schedulefile

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/afterparty/afterparty/shared/group"
)

// Read parses a schedule file into rows. Scalars keep the text the organizer typed
// (so `meeting_id: 2026-12-10` stays a string, not a date); numbers are typed N.
// Structural problems come back as Problems naming the line.
func Read(r io.Reader) ([]group.Row, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, fmt.Errorf("schedule file is not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		list = nil
		for i := 0; i+1 < len(doc.Content[0].Content); i += 2 {
			if doc.Content[0].Content[i].Value == "meetings" {
				list = doc.Content[0].Content[i+1]
			}
		}
		if list == nil {
			return nil, fmt.Errorf("schedule file: expected a list of meetings, or a `meetings:` key holding one")
		}
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("schedule file line %d: `meetings` must be a list of meetings", list.Line)
	}
	rows := make([]group.Row, 0, len(list.Content))
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("schedule file line %d: each meeting must be a map of field: value", item.Line)
		}
		row := group.Row{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			key, val := item.Content[i].Value, item.Content[i+1]
			if _, dup := row[key]; dup {
				return nil, fmt.Errorf("schedule file line %d: field %q given twice", item.Content[i].Line, key)
			}
			row[key] = value(val)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func value(n *yaml.Node) group.Value {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return group.Value{Type: "other"}
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return group.Value{Type: "N", Text: n.Value}
	case "!!bool":
		return group.Value{Type: "BOOL", Text: n.Value}
	case "!!null":
		return group.Value{Type: "S", Text: ""}
	}
	return group.Value{Type: "S", Text: n.Value}
}

// Write renders rows as a schedule file that Read (and `schedule apply`) accepts.
func Write(w io.Writer, rows []group.Row) error {
	var list yaml.Node
	list.Kind = yaml.SequenceNode
	for _, row := range rows {
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, name := range orderedNames(row) {
			v := row[name]
			val := &yaml.Node{Kind: yaml.ScalarNode, Value: v.Text, Tag: "!!str"}
			if v.Type == "N" {
				if _, err := strconv.ParseFloat(v.Text, 64); err == nil {
					val.Tag = "!!int"
				}
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, val)
		}
		list.Content = append(list.Content, m)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "meetings"}, &list}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func orderedNames(row group.Row) []string {
	var names []string
	seen := map[string]bool{}
	for _, f := range group.Fields {
		if _, ok := row[f]; ok {
			names = append(names, f)
			seen[f] = true
		}
	}
	var extra []string
	for k := range row {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}
