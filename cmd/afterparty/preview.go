package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

func previewCmd() *cobra.Command {
	var member, out, at string
	cmd := &cobra.Command{
		Use:       "preview invitation|reminder|teaser|pub|update|cancel MEETING_ID [--member EMAIL] [--out FILE.html|FILE.eml]",
		Short:     "The exact email a member would get, rendered by the same code the functions send with; writes nothing to the tables",
		Long:      "preview prints the subject and the plain-text part, or writes the whole message (--out FILE.eml) or its HTML part (--out FILE.html).\nWith no --member it uses the first member who would get it, by the rules the functions send by. --at picks the moment (default: when the message is due, or now if that has passed).",
		Args:      cobra.ExactArgs(2),
		ValidArgs: cycle.PreviewKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			what := strings.ToLower(args[0])
			if k, ok := group.ParseKind(what); ok {
				what = string(k)
			}
			known := false
			for _, k := range cycle.PreviewKinds {
				known = known || k == what
			}
			if !known {
				return fmt.Errorf("cannot preview %q: use one of %s", args[0], strings.Join(cycle.PreviewKinds, ", "))
			}
			a, err := app(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := readTable(cmd, a)
			if err != nil {
				return err
			}
			m, err := s.meeting(args[1])
			if err != nil {
				return err
			}
			when := a.Runner.Clock()
			if k, ok := group.ParseKind(what); ok {
				if w := a.Config.Leads.Window(k, m); w.Opens.After(when) {
					when = w.Opens
				}
			}
			if at != "" {
				if when, err = parseWhen(at, a.Config.TimeZone); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			var mem group.Member
			switch {
			case member != "":
				if mem, err = a.Store.Member(ctx, group.MemberID(member)); errors.Is(err, dynamo.ErrNotFound) {
					return fmt.Errorf("%s is not a member (afterparty members list)", member)
				} else if err != nil {
					return err
				}
			default:
				var due bool
				if mem, due, err = defaultMember(ctx, a.Store, what, m.ID); err != nil {
					return err
				}
				if !due {
					fmt.Fprintf(cmd.ErrOrStderr(), "nobody would get the %s of %s as of now; showing it for %s\n", what, m.ID, mem.Email)
				}
			}
			r, err := a.Runner.Preview(ctx, what, m, mem, when)
			if err != nil {
				return err
			}
			text, html, err := mimeParts(r.Raw)
			if err != nil {
				return err
			}
			switch ext := strings.ToLower(filepath.Ext(out)); {
			case out == "":
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "To: %s\nSubject: %s\nAs of: %s\n\n%s\n", mem.Email, r.Subject, when.In(m.Location).Format(time.RFC1123), bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n")))
				return nil
			case ext == ".eml":
				return os.WriteFile(out, r.Raw, 0o644)
			case ext == ".html" || ext == ".htm":
				return os.WriteFile(out, html, 0o644)
			default:
				return fmt.Errorf("--out %s: name a .eml (the whole message) or .html (its HTML part) file", out)
			}
		},
	}
	cmd.Flags().StringVar(&member, "member", "", "the member's email address (default: the first member who would get it)")
	cmd.Flags().StringVar(&out, "out", "", "write the message to FILE.eml or its HTML part to FILE.html")
	cmd.Flags().StringVar(&at, "at", "", "render as of this moment (RFC 3339 or local YYYY-MM-DDTHH:MM)")
	return cmd
}

// mimeParts reads the text and HTML parts of a rendered message.
func mimeParts(raw []byte) (text, html []byte, err error) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("read rendered message: %w", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read rendered message: %w", err)
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return nil, nil, err
		}
		switch ct {
		case "text/plain":
			text = body
		case "text/html":
			html = body
		}
	}
	return text, html, nil
}

// memberSource is what defaultMember reads: members in pages and their answers.
type memberSource interface {
	MembersPage(ctx context.Context, after string, limit int) ([]group.Member, string, error)
	RSVPsOf(ctx context.Context, meetingID string, memberIDs []string) (map[string]group.RSVP, error)
}

// defaultMember is the first member who would get this kind of email for the
// meeting as of now, by the recipient rules the functions use (an update or a
// cancellation by the invitation's), else the first member, else a sample one.
func defaultMember(ctx context.Context, s memberSource, what, meetingID string) (mem group.Member, due bool, err error) {
	kind, ok := group.ParseKind(what)
	if !ok {
		kind = group.Invitation // update, cancel: everyone the invitation reached
	}
	var first *group.Member
	for after := ""; ; {
		page, next, err := s.MembersPage(ctx, after, 100)
		if err != nil {
			return group.Member{}, false, err
		}
		ids := make([]string, len(page))
		for i, m := range page {
			ids[i] = m.ID
		}
		answers, err := s.RSVPsOf(ctx, meetingID, ids)
		if err != nil {
			return group.Member{}, false, err
		}
		for _, m := range page {
			var r *group.RSVP
			if got, ok := answers[m.ID]; ok {
				r = &got
			}
			if group.Recipient(kind, m, r) {
				return m, true, nil
			}
			if first == nil {
				first = &m
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if first != nil {
		return *first, false, nil
	}
	return group.Member{ID: group.MemberID("member@example.org"), Email: "member@example.org", Name: "Sam Member", Status: group.MemberActive}, false, nil
}
