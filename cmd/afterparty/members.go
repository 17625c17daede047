package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func membersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "members", Short: "Import and list the group's members"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "import FILE.csv",
			Short: "Add members from a CSV with header email,name (existing members, and anyone who unsubscribed, are left as they are)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				a, err := app(cmd)
				if err != nil {
					return err
				}
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				rows, notes := ReadMembersCSV(f)
				var problems []LineProblem
				for _, p := range notes {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s:%s\n", args[0], p)
					if p.File {
						return fmt.Errorf("%s: nothing imported: %s", args[0], p.Message)
					}
					if !p.Duplicate {
						problems = append(problems, p)
					}
				}
				res, err := importMembers(cmd, a, rows, cmd.ErrOrStderr()) // members_io.go
				added, existing := res.Added, res.Existing
				if err != nil {
					return fmt.Errorf("import stopped: %w (run it again: members already added are skipped)", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d added, %d already members, %d duplicate lines skipped, %d lines with problems\n", args[0], added, existing, len(notes)-len(problems), len(problems))
				if len(problems) > 0 {
					return fmt.Errorf("%d line(s) of %s were not imported; fix them and import again", len(problems), args[0])
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List every member with their status",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				a, err := app(cmd)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "EMAIL\tNAME\tSTATUS\tJOINED")
				n, after := 0, ""
				for {
					page, next, err := a.Store.MembersPage(cmd.Context(), after, 500)
					if err != nil {
						return err
					}
					for _, m := range page {
						n++
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.Email, m.Name, m.Status, m.JoinedAt.Format("2006-01-02"))
					}
					if next == "" {
						break
					}
					after = next
				}
				w.Flush()
				fmt.Fprintf(cmd.OutOrStdout(), "%d members\n", n)
				return nil
			},
		},
		reactivateCmd(),
		renameCmd(),
	)
	return cmd
}

// memberByEmail reads the member with that address (any letter case).
func memberByEmail(cmd *cobra.Command, a *setup.App, email string) (group.Member, error) {
	if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<> ") {
		return group.Member{}, fmt.Errorf("%q is not an email address", email)
	}
	m, err := a.Store.Member(cmd.Context(), group.MemberID(email))
	if errors.Is(err, dynamo.ErrNotFound) {
		return m, fmt.Errorf("%s is not a member", email)
	}
	return m, err
}

func reactivateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reactivate EMAIL",
		Short: "Send to a member again whose address was suppressed after a bounce or a complaint (read the warning)",
		Long: "A member whose email bounced for good, or who marked an email as spam, is suppressed: afterparty never\n" +
			"sends to them again, and no link or join form can change that. Reactivate them only when they asked you\n" +
			"to and their address works: every new bounce or complaint counts against your SES account.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app(cmd)
			if err != nil {
				return err
			}
			m, err := memberByEmail(cmd, a, args[0])
			if err != nil {
				return err
			}
			switch m.Status {
			case group.MemberSuppressed:
			case group.MemberUnsubscribed:
				return fmt.Errorf("%s unsubscribed themselves: only they can subscribe again (the unsubscribe link in any email from the group)", args[0])
			case dynamo.MemberPending:
				return fmt.Errorf("%s has not confirmed their address yet: they can join with the link in their confirmation email", args[0])
			default:
				return fmt.Errorf("%s is %s, not suppressed: nothing to do", args[0], m.Status)
			}
			why, err := a.Store.Reactivate(cmd.Context(), m.ID, a.Runner.Clock())
			if err != nil {
				return fmt.Errorf("reactivate %s: %w", args[0], err)
			}
			when := "at an unknown time"
			if !why.At.IsZero() {
				when = "on " + why.At.Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: %s was suppressed %s because of %s. SES counts every bounce and complaint\n"+
				"against your account: if this address bounces or complains again, your sending can be paused.\n"+
				"If the address is on SES's account-level suppression list too, SES still drops mail to it\n"+
				"(aws sesv2 delete-suppressed-destination --email-address ADDRESS removes it).\n", args[0], when, why.Reason)
			fmt.Fprintf(cmd.OutOrStdout(), "%s is active again: they get the next emails\n", args[0])
			return nil
		},
	}
}

func renameCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rename EMAIL NAME",
		Short: "Change the name a member is greeted and listed with",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.Join(strings.Fields(args[1]), " ")
			if p := group.MemberNameProblem(name); p != "" {
				return fmt.Errorf("name %q %s", args[1], p)
			}
			a, err := app(cmd)
			if err != nil {
				return err
			}
			m, err := memberByEmail(cmd, a, args[0])
			if err != nil {
				return err
			}
			if err := a.Store.Rename(cmd.Context(), m.ID, name, a.Runner.Clock()); err != nil {
				return fmt.Errorf("rename %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %q -> %q\n", args[0], m.Name, name)
			return nil
		},
	}
}

// LineProblem is a CSV line that was not imported.
// LineProblem is a CSV line that was not imported, or a problem of the whole file.
type LineProblem struct {
	Line      int
	Message   string
	Duplicate bool // the address is already on an earlier line: a notice, not an error
	File      bool // the file as a whole cannot be imported (empty, no header, no members)
}

func (p LineProblem) String() string { return fmt.Sprintf("%d: %s", p.Line, p.Message) }

// maxLine is the longest line ReadMembersCSV reads; a longer one is reported and
// skipped, and the lines after it are still read.
const maxLine = 1 << 20

// ReadMembersCSV reads a member list with the header row email,name (any order,
// any case; other columns are ignored). Each physical line is one member, so a
// broken line is reported by its number and the lines after it still import.
// Addresses are deduplicated case-insensitively. The file must be UTF-8: a line
// that is not (Excel's "CSV (Comma delimited)" writes Windows-1252) is reported,
// not guessed at.
func ReadMembersCSV(r io.Reader) ([]group.Member, []LineProblem) {
	br := bufio.NewReaderSize(r, 64*1024)
	var (
		members  []group.Member
		problems []LineProblem
		emailCol = -1
		columns  = 0
		nameCol  = -1
		seen     = map[string]int{}
		line     = 0
		data     = 0 // non-blank lines after the header
	)
	for {
		raw, tooLong, err := readLine(br)
		if err != nil && err != io.EOF {
			problems = append(problems, LineProblem{Line: line + 1, Message: "could not read further: " + err.Error()})
			break
		}
		if err == io.EOF && len(raw) == 0 && !tooLong {
			break
		}
		line++
		if tooLong {
			problems = append(problems, LineProblem{Line: line, Message: "the line is longer than 1 MB; skipped"})
			if emailCol >= 0 {
				data++
			}
			continue
		}
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if emailCol >= 0 {
			data++
		}
		if !utf8.Valid(raw) {
			problems = append(problems, LineProblem{Line: line, Message: "the line is not UTF-8 text (Excel's \"CSV (Comma delimited)\" writes Windows-1252): save the file as \"CSV UTF-8\" and import it again"})
			continue
		}
		text := string(raw)
		if emailCol < 0 && strings.Contains(text, "\r") {
			problems = append(problems, LineProblem{Line: line, File: true, Message: "lines end with a carriage return alone (CR, old Mac line ends), so the file reads as one line: save it with LF or CRLF line ends"})
			return nil, problems
		}
		rec, err := csv.NewReader(strings.NewReader(text)).Read()
		if err != nil {
			problems = append(problems, LineProblem{Line: line, Message: "not a CSV line: " + strings.TrimPrefix(err.Error(), "record on line 1: ")})
			continue
		}
		if emailCol < 0 {
			for i, h := range rec {
				switch strings.ToLower(strings.TrimSpace(h)) {
				case "email":
					emailCol = i
				case "name":
					nameCol = i
				}
			}
			columns = len(rec)
			if emailCol < 0 {
				problems = append(problems, LineProblem{Line: line, File: true, Message: `the first line must be the header "email,name"`})
				return nil, problems
			}
			continue
		}
		if len(rec) > columns {
			problems = append(problems, LineProblem{Line: line, Message: fmt.Sprintf("has %d fields, the header only %d (a comma in a name needs quotes: \"Hopper, Grace\")", len(rec), columns)})
			continue
		}
		if emailCol >= len(rec) {
			problems = append(problems, LineProblem{Line: line, Message: "has no email column"})
			continue
		}
		email := strings.TrimSpace(rec[emailCol])
		name := ""
		if nameCol >= 0 && nameCol < len(rec) {
			name = strings.TrimSpace(rec[nameCol])
		}
		addr, err := mail.ParseAddress(email)
		switch {
		case email == "":
			problems = append(problems, LineProblem{Line: line, Message: "the email is empty"})
			continue
		case err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], "."):
			problems = append(problems, LineProblem{Line: line, Message: fmt.Sprintf("%q is not an email address", email)})
			continue
		case strings.IndexFunc(name, group.Unprintable) >= 0:
			problems = append(problems, LineProblem{Line: line, Message: fmt.Sprintf("the name contains the control character %U (control, escape and text-direction characters are refused)", firstUnprintable(name))})
			continue
		case utf8.RuneCountInString(name) > 200:
			problems = append(problems, LineProblem{Line: line, Message: "the name is longer than 200 characters"})
			continue
		}
		key := group.NormalizeEmail(email)
		if first, dup := seen[key]; dup {
			problems = append(problems, LineProblem{Line: line, Message: fmt.Sprintf("%s is already on line %d (addresses are compared ignoring case); skipped", email, first), Duplicate: true})
			continue
		}
		seen[key] = line
		members = append(members, group.Member{Email: key, Name: name, Status: group.MemberActive})
	}
	switch {
	case emailCol < 0 && len(problems) == 0:
		problems = append(problems, LineProblem{Line: 1, File: true, Message: `the file is empty: it needs the header "email,name" and one member per line`})
	case emailCol >= 0 && data == 0:
		problems = append(problems, LineProblem{Line: line, File: true, Message: "the file has the header but no member lines"})
	}
	return members, problems
}

// readLine reads one line without its line end. A line longer than maxLine is read
// to its end and dropped: tooLong is set and line is empty.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > maxLine+2 { // +2: the line end
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return line, tooLong, err
	}
}

func firstUnprintable(s string) rune {
	for _, c := range s {
		if group.Unprintable(c) {
			return c
		}
	}
	return 0
}
