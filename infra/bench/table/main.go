// Command table turns `go test -bench` output into one aligned table: a row per
// benchmark, a column per metric. `make bench` pipes its results through it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
)

func main() {
	type row struct {
		name    string
		metrics map[string]string
	}
	var rows []row
	var units []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := row{name: strings.TrimPrefix(f[0], "Benchmark"), metrics: map[string]string{}}
		if i := strings.LastIndex(r.name, "-"); i > 0 {
			r.name = r.name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			unit := f[i+1]
			if unit == "ns/op" || unit == "B/op" || unit == "allocs/op" {
				continue
			}
			r.metrics[unit] = f[i]
			if !seen[unit] {
				seen[unit] = true
				units = append(units, unit)
			}
		}
		rows = append(rows, r)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(w, "benchmark\t")
	for _, u := range units {
		fmt.Fprint(w, u+"\t")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprint(w, r.name+"\t")
		for _, u := range units {
			v := r.metrics[u]
			if v == "" {
				v = "-"
			}
			fmt.Fprint(w, v+"\t")
		}
		fmt.Fprintln(w)
	}
	fmt.Println()
	w.Flush()
}
