package icebreakers

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBank(t *testing.T) {
	qs := Bank()
	if len(qs) < 60 {
		t.Fatalf("bank has %d questions; want at least 60", len(qs))
	}
	seen := map[string]bool{}
	for i, q := range qs {
		switch {
		case q == "":
			t.Errorf("question %d is empty", i)
		case seen[q]:
			t.Errorf("question %d repeats %q", i, q)
		case !utf8.ValidString(q) || strings.ContainsAny(q, "\r\n\t"):
			t.Errorf("question %d is not one clean line: %q", i, q)
		case !strings.HasSuffix(q, "?"):
			t.Errorf("question %d does not end with a question mark: %q", i, q)
		case utf8.RuneCountInString(q) > 200:
			t.Errorf("question %d is longer than a schedule field may be: %q", i, q)
		}
		seen[q] = true
	}

	qs[0] = "changed"
	if Bank()[0] == "changed" {
		t.Error("Bank returned the package's own slice, not a copy")
	}
}

func TestPick(t *testing.T) {
	n := len(Bank())
	tests := []struct {
		name string
		seed string
	}{
		{"meeting id", "2026-12-10"},
		{"another meeting id", "2027-01-14"},
		{"empty seed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := map[string]bool{}
			for i := 0; i < n; i++ {
				seed := fmt.Sprintf("%s-%d", tt.seed, i)
				q := Pick(used, seed)
				if q == "" {
					t.Fatalf("pick %d: empty question", i)
				}
				if used[q] {
					t.Fatalf("pick %d repeats %q before the bank is used up (%d of %d used)", i, q, len(used), n)
				}
				if again := Pick(used, seed); again != q {
					t.Fatalf("pick %d is not deterministic: %q then %q", i, q, again)
				}
				used[q] = true
			}
			if len(used) != n {
				t.Fatalf("used %d distinct questions; want the whole bank of %d", len(used), n)
			}
			// Exhausted: the bank starts over and still answers.
			if q := Pick(used, tt.seed); q == "" {
				t.Error("exhausted bank returned an empty question")
			}
		})
	}
}

func TestPickIgnoresQuestionsOutsideTheBank(t *testing.T) {
	used := map[string]bool{"An organizer's own question?": true}
	if q := Pick(used, "x"); q == "" || used[q] {
		t.Errorf("Pick = %q", q)
	}
}
