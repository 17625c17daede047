package emails_test

import (
	"strings"
	"testing"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

func TestConnectionsEmail(t *testing.T) {
	m := fixture(t, group.Connections, "Europe/Berlin", "2027-01-14T19:00")
	out, p := render(t, m)
	if want := "Who did you meet at " + m.Meeting.Title + "?"; out.Subject != want {
		t.Errorf("subject %q, want %q", out.Subject, want)
	}
	for _, part := range []string{p.text(t), string(out.Raw)} {
		if !strings.Contains(part, "met?t=") {
			t.Errorf("the email lacks the /met link")
		}
	}
	m.Links.Met = ""
	if _, err := renderer(t).Render(m); err == nil || !strings.Contains(err.Error(), "Met") {
		t.Errorf("a connections email without its /met link rendered: %v", err)
	}
}

func TestIntroductionEmail(t *testing.T) {
	m := fixture(t, group.Introduction, "Europe/Berlin", "2027-01-14T19:00")
	if _, err := renderer(t).Render(m); err == nil {
		t.Fatal("an introduction naming nobody rendered")
	}
	m.Introduction = &emails.Introduction{OtherName: "Grace <b>Hopper</b>", OtherEmail: "grace@example.com", OtherLine: "ask me about <COBOL>", OwnLine: "sourdough & Kafka"}
	out, p := render(t, m)
	if !strings.Contains(out.Subject, "Grace") {
		t.Errorf("subject %q does not name the other member", out.Subject)
	}
	text := p.text(t)
	for _, want := range []string{"grace@example.com", "jose@example.com", "ask me about <COBOL>", "sourdough & Kafka"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	if got := p.header.Get("Reply-To"); !strings.Contains(got, "grace@example.com") || strings.Contains(got, "ann@") {
		t.Errorf("Reply-To %q: a reply should go to the other member only", got)
	}
	if html := string(p.only(t, "text/html").body); strings.Contains(html, "<b>Hopper</b>") || strings.Contains(html, "<COBOL>") || !strings.Contains(html, "&lt;COBOL&gt;") {
		t.Errorf("the HTML part does not escape member text:\n%s", html)
	}
}
