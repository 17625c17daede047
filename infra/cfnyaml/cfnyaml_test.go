package cfnyaml

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLongFormsTheShortIntrinsics(t *testing.T) {
	got, err := Parse([]byte(`
Resources:
  A:
    Properties:
      Name: !Ref Param
      Arn: !GetAtt Table.Arn
      Url: !GetAtt [Fn, FunctionUrl]
      Sub: !Sub arn:${AWS::Partition}:x/${Name}
      Join: !Join [",", [a, !Ref B]]
      N: 3
      On: true
      Cond: !Condition IsProd
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Name": map[string]any{"Ref": "Param"},
		"Arn":  map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}},
		"Url":  map[string]any{"Fn::GetAtt": []any{"Fn", "FunctionUrl"}},
		"Sub":  map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x/${Name}"},
		"Join": map[string]any{"Fn::Join": []any{",", []any{"a", map[string]any{"Ref": "B"}}}},
		"N":    3,
		"On":   true,
		"Cond": map[string]any{"Condition": "IsProd"},
	}
	props := got["Resources"].(map[string]any)["A"].(map[string]any)["Properties"]
	if !reflect.DeepEqual(props, want) {
		t.Errorf("got %#v\nwant %#v", props, want)
	}
}

func TestParseRefusesWhatCloudFormationRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"alias":         "A: &x 1\nB: *x\n",
		"duplicate key": "A: 1\nA: 2\n",
		"bad GetAtt":    "A: !GetAtt NoDot\n",
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("%s: parsed %q", name, strings.TrimSpace(src))
		}
	}
}
