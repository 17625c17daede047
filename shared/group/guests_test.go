package group

import (
	"strings"
	"testing"
)

func TestGuestsMax(t *testing.T) {
	tests := []struct {
		name    string
		value   Value
		want    int
		problem string // "" for none
	}{
		{"two guests", Value{Type: "N", Text: "2"}, 2, ""},
		{"none", Value{Type: "N", Text: "0"}, 0, ""},
		{"the most", Value{Type: "N", Text: "10"}, 10, ""},
		{"too many", Value{Type: "N", Text: "11"}, 0, "between 0 and 10"},
		{"negative", Value{Type: "N", Text: "-1"}, 0, "between 0 and 10"},
		{"not a number", Value{Type: "S", Text: "two"}, 0, "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRow() // schedule_test.go: a row with no problems
			r[FieldGuestsMax] = tt.value
			m, ps := ParseMeeting(r, "America/Los_Angeles")
			if tt.problem == "" {
				if len(ps) != 0 || m.GuestsMax != tt.want {
					t.Fatalf("GuestsMax %d, problems %v; want %d", m.GuestsMax, ps, tt.want)
				}
				return
			}
			if len(ps) != 1 || ps[0].Field != FieldGuestsMax || !strings.Contains(ps[0].Message, tt.problem) {
				t.Fatalf("problems %v; want one on guests_max saying %q", ps, tt.problem)
			}
		})
	}
}
