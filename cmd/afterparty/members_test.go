package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
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

// TestMembersReactivate: only `members reactivate` makes a suppressed member active
// again, with a warning naming why they were suppressed; it refuses anyone who is
// not suppressed (an unsubscribed member's choice is theirs).
func TestMembersReactivate(t *testing.T) {
	c := newCLI(t)
	list := c.file(t, "members.csv", "email,name\nada@reactivate.example,Ada\nken@reactivate.example,Ken\n")
	if out, errOut, ok := c.run(t, "members", "import", list); !ok {
		t.Fatalf("import: %s %s", out, errOut)
	}
	ada := group.MemberID("ada@reactivate.example")
	if err := c.store.Suppress(context.Background(), ada, "complaint", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.store.SetMemberStatus(context.Background(), group.MemberID("ken@reactivate.example"), group.MemberUnsubscribed, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, errOut, ok := c.run(t, "members", "reactivate", "ken@reactivate.example"); ok || !strings.Contains(errOut, "unsubscribed themselves") {
		t.Fatalf("reactivate of an unsubscribed member: ok=%v %s", ok, errOut)
	}
	if _, errOut, ok := c.run(t, "members", "reactivate", "nobody@reactivate.example"); ok || !strings.Contains(errOut, "not a member") {
		t.Fatalf("reactivate of a stranger: ok=%v %s", ok, errOut)
	}
	out, errOut, ok := c.run(t, "members", "reactivate", "ADA@reactivate.example")
	if !ok || !strings.Contains(errOut, "WARNING") || !strings.Contains(errOut, "complaint") || !strings.Contains(out, "active again") {
		t.Fatalf("reactivate: ok=%v out %q err %q", ok, out, errOut)
	}
	if m, err := c.store.Member(context.Background(), ada); err != nil || m.Status != group.MemberActive {
		t.Fatalf("after reactivate: %+v %v", m, err)
	}
	if _, errOut, ok := c.run(t, "members", "reactivate", "ada@reactivate.example"); ok || !strings.Contains(errOut, "not suppressed") {
		t.Fatalf("second reactivate: ok=%v %s", ok, errOut)
	}
}

// TestMembersRename: an organizer corrects a member's name; a pending join
// request's name no longer overrides it; bad names and strangers are refused.
func TestMembersRename(t *testing.T) {
	c := newCLI(t)
	list := c.file(t, "members.csv", "email,name\nada@rename.example,Stinky McStinkface\n")
	if out, errOut, ok := c.run(t, "members", "import", list); !ok {
		t.Fatalf("import: %s %s", out, errOut)
	}
	out, errOut, ok := c.run(t, "members", "rename", "Ada@Rename.example", "  Ada   Lovelace ")
	if !ok || !strings.Contains(out, `"Stinky McStinkface" -> "Ada Lovelace"`) {
		t.Fatalf("rename: ok=%v out %q err %q", ok, out, errOut)
	}
	if m, err := c.store.Member(context.Background(), group.MemberID("ada@rename.example")); err != nil || m.Name != "Ada Lovelace" {
		t.Fatalf("after rename: %+v %v", m, err)
	}
	if out, _, _ := c.run(t, "members", "list"); !strings.Contains(out, "Ada Lovelace") {
		t.Fatalf("list after rename:\n%s", out)
	}
	for _, bad := range [][]string{
		{"ada@rename.example", ""},
		{"ada@rename.example", "Ada\x1b[31m"},
		{"ada@rename.example", "Ada\u202eecalevol"},
		{"ada@rename.example", strings.Repeat("a", 201)},
		{"nobody@rename.example", "Nobody"},
		{"not an address", "Nobody"},
	} {
		if _, errOut, ok := c.run(t, append([]string{"members", "rename"}, bad...)...); ok || errOut == "" {
			t.Errorf("rename %q accepted", bad)
		}
	}
	if m, _ := c.store.Member(context.Background(), group.MemberID("ada@rename.example")); m.Name != "Ada Lovelace" {
		t.Fatalf("a refused rename changed the name to %q", m.Name)
	}
}

// TestMembersImportRefusesWhatItCannotRead proves `members import` names what is
// wrong with a file it cannot import, exits non-zero, and still imports the good
// lines around a bad one.
func TestMembersImportRefusesWhatItCannotRead(t *testing.T) {
	c := newCLI(t)
	huge := "big@import.example," + strings.Repeat("x", 1<<20+10)
	cases := []struct {
		name, content string
		added         string
		errs          []string
	}{
		{"empty", "", "", []string{"the file is empty"}},
		{"blank", "\n\r\n  \n", "", []string{"the file is empty"}},
		{"cr-only", "email,name\rada@cr.example,Ada\rgrace@cr.example,Grace\r", "", []string{"carriage return"}},
		{"header-only", "email,name\n", "", []string{"no member lines"}},
		{"cp1252", "email,name\njose@latin.example,Jos\xe9\nana@latin.example,Ana\n", "1 added", []string{"cp1252.csv:2: the line is not UTF-8"}},
		{"long", "email,name\n" + huge + "\nafter@import.example,After\n", "1 added", []string{"long.csv:2: the line is longer than 1 MB"}},
		{"controls", "email,name\nesc@ctl.example,Eve\x1b[31m\nbidi@ctl.example,Ab\u202edc\nlrm@ctl.example,A\u200fb\nok@ctl.example,Ok\n", "1 added",
			[]string{"controls.csv:2: the name contains the control character U+001B", "controls.csv:3: the name contains the control character U+202E", "controls.csv:4: the name contains the control character U+200F"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, ok := c.run(t, "members", "import", c.file(t, tc.name+".csv", tc.content))
			if ok {
				t.Errorf("import exited 0: out %q err %q", out, errOut)
			}
			if tc.added != "" && !strings.Contains(out, tc.added) {
				t.Errorf("want %q in %q (err %q)", tc.added, out, errOut)
			}
			for _, want := range tc.errs {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%.2000s", want, errOut)
				}
			}
		})
	}
	list := mustRun(t, c, "members", "list")
	for _, gone := range []string{"jos", "esc@", "bidi@", "lrm@", "ada@cr"} {
		if strings.Contains(list, gone) {
			t.Errorf("%s was imported:\n%s", gone, list)
		}
	}
}
