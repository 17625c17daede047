package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/group"
)

// future is a meeting date far enough ahead for every test run.
const futureSchedule = `meetings:
  - meeting_id: 2031-05-08
    title: "Postgres, Go & the pub"
    starts_at: 2031-05-08T18:30
    duration_minutes: 150
    venue: The Hall
    speaker: Rob
    speaker_intro: Rob keeps bees.
    pub_name: The Crown
    capacity: 40
  - meeting_id: 2031-06-12
    title: No pub this time
    starts_at: 2031-06-12T18:30
    venue: The Hall
`

// TestPlanPreviewMatchWhatIsSent proves `plan` lists every message with its time
// in the group's zone, its recipient count and why a message is skipped, and that
// `preview` renders the very email `run` then sends.
func TestPlanPreviewMatchWhatIsSent(t *testing.T) {
	c := newCLI(t)
	domain := fmt.Sprintf("plan%d.example", time.Now().UnixNano())
	mustRun(t, c, "schedule", "apply", c.file(t, "s.yaml", futureSchedule))
	mustRun(t, c, "members", "import", c.file(t, "m.csv", "email,name\nada@"+domain+",Ada Lovelace\ngrace@"+domain+",Grace Hopper\n"))

	out := mustRun(t, c, "plan", "--from", "2031-04-20", "--to", "2031-06-30")
	cases := []struct{ line, want string }{
		{"2031-05-08  invitation", "Thu 2031-04-24 18:30 BST  2031-05-08  invitation"},
		{"2031-05-08  invitation", "  2  "},
		{"2031-05-08  reminder", "Tue 2031-05-06 18:30 BST"},
		{"2031-05-08  teaser", "0"}, // nobody said Yes yet
		{"2031-05-08  pub", "Thu 2031-05-08 21:00 BST"},
		{"2031-06-12  pub", "not sent: no pub_name in the schedule"},
		{"2031-05-08  organizer digest-3h", "Thu 2031-05-08 15:30 BST"},
	}
	for _, tc := range cases {
		if l := lineContaining(out, tc.line); !strings.Contains(l, tc.want) {
			t.Errorf("plan line for %q is %q, want %q in it\n%s", tc.line, l, tc.want, out)
		}
	}

	eml := filepath.Join(c.dir, "inv.eml")
	mustRun(t, c, "preview", "invitation", "2031-05-08", "--member", "ADA@"+domain, "--out", eml)
	html := filepath.Join(c.dir, "inv.html")
	mustRun(t, c, "preview", "invitations", "2031-05-08", "--member", "ada@"+domain, "--out", html)
	text := mustRun(t, c, "preview", "invitation", "2031-05-08", "--member", "ada@"+domain)
	mustRun(t, c, "run", "invitations", "--at", "2031-04-24T18:30:00+01:00")
	sent := localstack.Get(t).Emails(t, "ada@"+domain)
	if len(sent) != 1 {
		t.Fatalf("ada got %d emails, want 1", len(sent))
	}
	raw, _ := os.ReadFile(eml)
	page, _ := os.ReadFile(html)
	for _, part := range []struct {
		name, got, want string
	}{
		{"subject", text, "Subject: " + sent[0].Subject},
		{"eml", string(raw), "invite.ics"},
		{"html title", string(page), "Postgres, Go &amp; the pub"},
		{"text body", text, firstLines(sent[0].Body.Text, 4)},
	} {
		if !strings.Contains(part.got, part.want) {
			t.Errorf("preview %s lacks what was sent: %q\n%s", part.name, part.want, part.got)
		}
	}
	if _, errOut, ok := c.run(t, "preview", "update", "2031-06-12"); ok || !strings.Contains(errOut, "not been announced") {
		t.Errorf("preview update of a meeting never announced: %s", errOut)
	}
	if out := mustRun(t, c, "preview", "cancel", "2031-05-08"); !strings.Contains(out, "Cancel") {
		t.Errorf("preview cancel:\n%s", out)
	}
	// An invitation sent to everyone is not due again.
	out = mustRun(t, c, "plan", "--from", "2031-04-25", "--to", "2031-04-26")
	if l := lineContaining(out, "invitation"); !strings.Contains(l, "2 already sent") || !strings.Contains(l, "  -  ") || !strings.Contains(l, "not due") {
		t.Errorf("plan after the invitations went out:\n%s", out)
	}
	// status shows times in the group's zone, with the zone, as plan does.
	status := mustRun(t, c, "status")
	if l := lineContaining(status, "2031-05-08  invitation"); !strings.Contains(l, "  2  ") || !strings.Contains(l, "swept to the end") || !strings.Contains(l, "2031-04-24 18:30 BST") {
		t.Errorf("status line %q\n%s", l, status)
	}
	// preview's default member is one who would get that kind: grace said Yes, ada No.
	a := c.app(t)
	ctx, now := context.Background(), time.Date(2031, 4, 30, 12, 0, 0, 0, time.UTC)
	for who, ans := range map[string]group.Answer{"ada@" + domain: group.No, "grace@" + domain: group.Yes} {
		if _, err := a.Store.Answer(ctx, "2031-05-08", group.MemberID(who), ans, 0, 40, group.SourceLink, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"teaser", "reminder", "pub"} {
		if out := mustRun(t, c, "preview", kind, "2031-05-08"); !strings.HasPrefix(out, "To: grace@"+domain) {
			t.Errorf("preview %s picked a member who would not get it:\n%s", kind, firstLines(out, 3))
		}
	}
}

// TestScheduleDiffExportPast proves `schedule diff` names each change field by
// field, `schedule export` round-trips with `apply`, and a start in the past is
// refused for a new or changed meeting but fine for history already in the table.
func TestScheduleDiffExportPast(t *testing.T) {
	c := newCLI(t)
	file := c.file(t, "s.yaml", futureSchedule)
	if out := mustRun(t, c, "schedule", "diff", file); !strings.Contains(out, "+ 2031-05-08 (new)") || !strings.Contains(out, "2 to create") {
		t.Fatalf("diff against an empty table:\n%s", out)
	}
	mustRun(t, c, "schedule", "apply", file)
	changed := c.file(t, "s2.yaml", strings.Replace(futureSchedule, "venue: The Hall\n    speaker", "venue: The Annex\n    speaker", 1))
	out := mustRun(t, c, "schedule", "diff", changed)
	if !strings.Contains(out, "~ 2031-05-08") || !strings.Contains(out, `venue: "The Hall" -> "The Annex"`) || !strings.Contains(out, "1 to update, 1 unchanged") {
		t.Fatalf("diff of a changed venue:\n%s", out)
	}
	exported := mustRun(t, c, "schedule", "export")
	if out := mustRun(t, c, "schedule", "apply", c.file(t, "export.yaml", exported)); !strings.Contains(out, "0 created, 0 updated, 2 unchanged") {
		t.Fatalf("export does not round-trip with apply:\n%s\n%s", exported, out)
	}

	past := `meetings:
  - meeting_id: 2020-01-09
    title: Long ago
    starts_at: 2020-01-09T18:30
    venue: The Hall
`
	pastFile := c.file(t, "past.yaml", past)
	for _, cmd := range [][]string{{"schedule", "validate", pastFile}, {"schedule", "apply", pastFile}, {"schedule", "diff", pastFile}} {
		if _, errOut, ok := c.run(t, cmd...); ok || !strings.Contains(errOut, "2020-01-09: starts_at:") || !strings.Contains(errOut, "in the past") {
			t.Errorf("%v of a new past meeting: ok=%v %s", cmd, ok, errOut)
		}
	}
	mustRun(t, c, "schedule", "apply", "--keep-past", pastFile)
	for _, cmd := range [][]string{{"schedule", "validate", pastFile}, {"schedule", "apply", pastFile}} {
		if _, errOut, ok := c.run(t, cmd...); !ok {
			t.Errorf("%v of history already in the table: %s", cmd, errOut)
		}
	}
	edited := c.file(t, "past2.yaml", strings.Replace(past, "Long ago", "Long ago, edited", 1))
	if _, errOut, ok := c.run(t, "schedule", "apply", edited); ok || !strings.Contains(errOut, "in the past") {
		t.Errorf("apply of a changed past meeting: %s", errOut)
	}
}

// TestMembersExportImport proves export writes email,name,status, an import
// keeps everyone's status (an unsubscribed member stays unsubscribed), and a large
// import shows its progress.
func TestMembersExportImport(t *testing.T) {
	c := newCLI(t)
	var b strings.Builder
	b.WriteString("email,name\n")
	const n = 2501 // with the formula's line
	for i := range n - 1 {
		fmt.Fprintf(&b, "m%04d@bulk.example,Member %d\n", i, i)
	}
	b.WriteString("=cmd@bulk.example,\"=HYPERLINK(\"\"x\"\")\"\n")
	file := c.file(t, "big.csv", b.String())
	out, errOut, ok := c.run(t, "members", "import", file)
	if !ok || !strings.Contains(out, fmt.Sprintf("%d added", n)) || !strings.Contains(errOut, "(100%)") {
		t.Fatalf("import: ok=%v out %q err %q", ok, out, errOut)
	}
	if out, _, _ := c.run(t, "members", "import", file); !strings.Contains(out, fmt.Sprintf("0 added, %d already members", n)) {
		t.Fatalf("re-import: %s", out)
	}
	export := mustRun(t, c, "members", "export")
	recs, err := csv.NewReader(strings.NewReader(export)).ReadAll()
	if err != nil || len(recs) != n+1 || strings.Join(recs[0], ",") != "email,name,status" || recs[1][2] != "active" {
		t.Fatalf("export: %v %d rows, first %v", err, len(recs), recs[:2])
	}
	if l := lineContaining(export, "=cmd@bulk.example"); !strings.Contains(l, `'=HYPERLINK`) {
		t.Errorf("a name a spreadsheet would run as a formula is exported as %q", l)
	}
}

// TestIcebreakersAddList proves organizers' questions are stored, refused when
// they carry markup, and listed.
func TestIcebreakersAddList(t *testing.T) {
	c := newCLI(t)
	mustRun(t, c, "icebreakers", "add", "What", "was", "your", "first", "computer?")
	if out := mustRun(t, c, "icebreakers", "add", "what was your  first computer?"); !strings.Contains(out, "already in the list") {
		t.Errorf("duplicate question: %s", out)
	}
	if _, errOut, ok := c.run(t, "icebreakers", "add", "<b>bold</b> question?"); ok || !strings.Contains(errOut, "HTML") {
		t.Errorf("markup accepted: %s", errOut)
	}
	out := mustRun(t, c, "icebreakers", "list")
	if !strings.Contains(out, "What was your first computer?") || !strings.Contains(out, "1 of your questions") {
		t.Errorf("list:\n%s", out)
	}
}

func mustRun(t *testing.T, c cli, args ...string) string {
	t.Helper()
	out, errOut, ok := c.run(t, args...)
	if !ok {
		t.Fatalf("afterparty %v failed:\n%s\n%s", args, out, errOut)
	}
	return out
}

func lineContaining(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
