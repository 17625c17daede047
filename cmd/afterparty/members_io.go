package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func membersExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export [--out FILE.csv]",
		Short: "Write every member as CSV: email,name,status (`members import` reads it back)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			return writeOutput(cmd, out, func(w io.Writer) error {
				cw := csv.NewWriter(w)
				cw.Write([]string{"email", "name", "status"})
				for after := ""; ; {
					page, next, err := a.Store.MembersPage(cmd.Context(), after, 1000)
					if err != nil {
						return err
					}
					for _, m := range page {
						cw.Write([]string{m.Email, csvSafe(m.Name), m.Status})
					}
					if next == "" {
						break
					}
					after = next
				}
				cw.Flush()
				return cw.Error()
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// csvSafe keeps a spreadsheet from running a name as a formula (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// importMembers adds the members in chunks (shared/dynamo ImportMembers), drawing
// a progress bar on progress (a terminal: redrawn in place; else a line every 10%).
func importMembers(cmd *cobra.Command, a *setup.App, members []group.Member, progress io.Writer) (dynamo.ImportResult, error) {
	bar := newProgress(progress, len(members))
	res, err := a.Store.ImportMembers(cmd.Context(), members, a.Runner.Clock(), 16, bar.update)
	bar.finish()
	return res, err
}

type progressBar struct {
	w         io.Writer
	total     int
	tty       bool
	start     time.Time
	mu        sync.Mutex
	last      time.Time
	lastTenth int
}

func newProgress(w io.Writer, total int) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, total: total, tty: tty, start: time.Now()}
}

func (p *progressBar) update(done int) {
	if p.total < 1000 {
		return // small files need no bar
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && done < p.total {
			return
		}
		p.last = now
		width := 30
		filled := width * done / p.total
		rate := float64(done) / max(now.Sub(p.start).Seconds(), 0.001)
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d members  %.0f/s ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total, rate)
		return
	}
	if tenth := 10 * done / p.total; tenth > p.lastTenth {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "imported %d/%d members (%d%%) in %s\n", done, p.total, 10*tenth, now.Sub(p.start).Round(time.Millisecond))
	}
}

func (p *progressBar) finish() {
	if p.tty && p.total >= 1000 {
		fmt.Fprintln(p.w)
	}
}

// writeOutput runs write on the file at path (created or truncated), or on standard
// output when path is empty, and reports a failed close: a full disk must not look
// like a finished export.
func writeOutput(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(cmd.OutOrStdout())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
