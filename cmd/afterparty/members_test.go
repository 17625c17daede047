package main

import (
	"strings"
	"testing"
)

func TestReadMembersCSV(t *testing.T) {
	in := "\ufeffEmail,Name\r\n" +
		"ada@example.org,Ada Lovelace\r\n" +
		"not-an-address,Nobody\n" +
		"\"grace@example.org\",\"Hopper, Grace\"\n" +
		"ADA@Example.org,Ada again\n" +
		"broken\"quote@example.org,x\n" +
		"\n" +
		",Empty\n" +
		"ken@example.org\n" +
		"olga@example.org,Olga,extra,fields\n"
	members, notes := ReadMembersCSV(strings.NewReader(in))
	var got []string
	for _, m := range members {
		got = append(got, m.Email+"|"+m.Name)
	}
	want := []string{"ada@example.org|Ada Lovelace", "grace@example.org|Hopper, Grace", "ken@example.org|"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("members = %v, want %v", got, want)
	}
	wantLines := map[int]string{3: "not an email address", 5: "already on line 2", 6: "not a CSV line", 8: "email is empty", 10: "header only 2"}
	if len(notes) != len(wantLines) {
		t.Fatalf("notes = %v, want lines %v", notes, wantLines)
	}
	for _, n := range notes {
		if w, ok := wantLines[n.Line]; !ok || !strings.Contains(n.Message, w) {
			t.Errorf("line %d: %q, want it to say %q", n.Line, n.Message, w)
		}
		if (n.Line == 5) != n.Duplicate {
			t.Errorf("line %d: Duplicate = %v", n.Line, n.Duplicate)
		}
	}
}

func TestReadMembersCSVNeedsHeader(t *testing.T) {
	_, notes := ReadMembersCSV(strings.NewReader("ada@example.org,Ada\n"))
	if len(notes) != 1 || notes[0].Line != 1 || !strings.Contains(notes[0].Message, "header") {
		t.Fatalf("want a header problem on line 1, got %v", notes)
	}
}
