package emails_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

func TestNotices(t *testing.T) {
	r, err := emails.NewNoticeRenderer()
	if err != nil {
		t.Fatal(err)
	}
	meeting := fixture(t, group.Invitation, "America/Los_Angeles", "2026-12-10T18:30").Meeting
	meeting.Title = `Go <script>alert(1)</script> & "friends"`
	base := emails.Notice{
		Group:  emails.Group{Name: "Rose City Gophers", From: gomail.Address{Name: "Rose City Gophers", Address: "hello@afterparty.example"}, Organizers: []string{"org@afterparty.example"}},
		Member: group.Member{ID: "m1", Email: "ada@example.org", Name: "Lovelace, Ada"},
		Links: emails.NoticeLinks{
			Unsubscribe: "https://afterparty.example/unsubscribe?t=u", UnsubscribeOneClick: "https://afterparty.example/unsubscribe?t=u",
			Confirm: "https://afterparty.example/join/confirm?t=c", RSVP: "https://afterparty.example/rsvp?t=r&answer=no",
			Calendar: "https://afterparty.example/invite.ics?t=i", Google: "https://calendar.google.com/calendar/render?x=1",
		},
		Now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
	}
	tests := []struct {
		kind    string
		meeting *group.Meeting
		guests  int
		subject string
		text    []string
	}{
		{emails.NoticePromoted, &meeting, 1, "You're in: a place opened up for " + meeting.Title, []string{"Hi Ada,", "with 1 guest", "https://afterparty.example/rsvp?t=r&answer=no", "Google Calendar: https://calendar.google.com"}},
		{emails.NoticeJoinConfirm, nil, 0, "Confirm you want to join Rose City Gophers", []string{"https://afterparty.example/join/confirm?t=c", "works for 2 days"}},
		{emails.NoticeWelcome, nil, 0, "Welcome to Rose City Gophers!", []string{"Welcome to Rose City Gophers!", "icebreaker"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			n := base
			n.Kind, n.Meeting, n.Guests = tt.kind, tt.meeting, tt.guests
			out, err := r.Render(n)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(out.Raw))
			if err != nil {
				t.Fatal(err)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if subject != tt.subject || out.Subject != tt.subject {
				t.Errorf("subject %q, want %q", subject, tt.subject)
			}
			if msg.Header.Get("List-Unsubscribe") != "<https://afterparty.example/unsubscribe?t=u>" || msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("unsubscribe headers: %v", msg.Header)
			}
			mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if mt != "multipart/alternative" {
				t.Fatalf("content type %s", mt)
			}
			parts := map[string]string{}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(p)
				ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				parts[ct] = string(b)
			}
			for _, w := range tt.text {
				if !strings.Contains(parts["text/plain"], w) {
					t.Errorf("text part lacks %q:\n%s", w, parts["text/plain"])
				}
			}
			if html := parts["text/html"]; html == "" || strings.Contains(html, "<script>") {
				t.Errorf("HTML part missing or unescaped:\n%s", html)
			}
		})
	}
}

func TestNoticeRefused(t *testing.T) {
	r, err := emails.NewNoticeRenderer()
	if err != nil {
		t.Fatal(err)
	}
	ok := emails.Notice{
		Kind:   emails.NoticeJoinConfirm,
		Group:  emails.Group{Name: "G", From: gomail.Address{Address: "hello@afterparty.example"}},
		Member: group.Member{Email: "ada@example.org"},
		Links:  emails.NoticeLinks{Confirm: "https://x.example/c", Unsubscribe: "https://x.example/u", UnsubscribeOneClick: "https://x.example/u"},
		Now:    time.Now(),
	}
	tests := []struct {
		name   string
		change func(*emails.Notice)
	}{
		{"unknown kind", func(n *emails.Notice) { n.Kind = "spam" }},
		{"no confirm link", func(n *emails.Notice) { n.Links.Confirm = "" }},
		{"header injection in the address", func(n *emails.Notice) { n.Member.Email = "ada@example.org\r\nBcc: all@example.org" }},
		{"plain-http one-click", func(n *emails.Notice) { n.Links.UnsubscribeOneClick = "http://x.example/u" }},
		{"promotion without its meeting", func(n *emails.Notice) { n.Kind = emails.NoticePromoted; n.Links.RSVP = "https://x.example/r" }},
		{"no time", func(n *emails.Notice) { n.Now = time.Time{} }},
	}
	if _, err := r.Render(ok); err != nil {
		t.Fatalf("the valid notice: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ok
			tt.change(&n)
			if _, err := r.Render(n); err == nil {
				t.Fatal("rendered")
			}
		})
	}
}
