// Package icebreakers is the bank of silly questions a meeting opens with: everyone
// answers one, so that by the time the talk starts nobody is a stranger.
package icebreakers

import (
	_ "embed"
	"hash/fnv"
	"strings"
)

//go:embed questions.txt
var questionsFile string

// bank is questions.txt, one question a line, blank lines and duplicates dropped.
var bank = parse(questionsFile)

func parse(file string) []string {
	var qs []string
	seen := map[string]bool{}
	for _, line := range strings.Split(file, "\n") {
		q := strings.TrimSpace(line)
		if q == "" || seen[q] {
			continue
		}
		seen[q] = true
		qs = append(qs, q)
	}
	return qs
}

// Bank returns every question in the bank, in file order. The slice is a copy.
func Bank() []string {
	return append([]string(nil), bank...)
}

// Pick draws a question that is not in used (the questions earlier meetings asked),
// so the group hears no repeat until the whole bank has been asked. The draw is
// deterministic: the same seed (a meeting id) and the same used set give the same
// question, so a retried or re-rendered email never changes tonight's question.
// Once every question has been used, the bank starts over and Pick returns the
// seed's question regardless of used.
func Pick(used map[string]bool, seed string) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	start := int(h.Sum64() % uint64(len(bank)))
	for i := range bank {
		q := bank[(start+i)%len(bank)]
		if !used[q] {
			return q
		}
	}
	return bank[start]
}
