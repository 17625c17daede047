package emails

import (
	"bytes"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/group"
)

func TestOrganizerEmails(t *testing.T) {
	r, err := NewOrganizerRenderer()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/London")
	m := group.Meeting{ID: "m1", Title: "Tracing <Go>", Start: time.Date(2031, 5, 8, 18, 30, 0, 0, loc), End: time.Date(2031, 5, 8, 20, 30, 0, 0, loc), Location: loc, Venue: "Hall", PubName: "The Crown"}
	g := Group{Name: "Gophers", From: gomail.Address{Name: "Gophers", Address: "hi@gophers.example"}}
	to := gomail.Address{Name: "Ana", Address: "ana@gophers.example"}
	now := m.Start.Add(-24 * time.Hour)
	cases := []struct {
		name     string
		msg      OrganizerMessage
		subject  string
		text     []string
		notInRaw []string
		wantErr  bool
	}{
		{"problems", OrganizerMessage{Kind: OrganizerProblems, Group: g, To: to, Now: now, Bad: &BadRow{MeetingID: "bad\r\nBcc: all@example.org", Problems: group.Problems{{Field: "title", Message: `contains HTML ("<script>")`}}}},
			"Schedule problem: meeting bad Bcc: all@example.org was skipped", []string{"title: contains HTML"}, []string{"\r\nBcc:", "<script>"}, false},
		{"digest", OrganizerMessage{Kind: OrganizerDigest, Group: g, To: to, Now: now, Count: &Headcount{Meeting: m, Before: "1 day", Yes: 12, Maybe: 3, Waitlist: 2, Guests: 4, Pub: 7, FirstTimer: []string{"Bob"}, Icebreaker: "Cats or dogs?"}},
			"Headcount: Tracing <Go> tomorrow: 12 yes, 3 maybe, 7 to the pub", []string{"Waitlist:       2", "Guests:         4", "  - Bob", "Tomorrow's icebreaker: Cats or dogs?"}, []string{"List-Unsubscribe"}, false},
		{"digest without counts", OrganizerMessage{Kind: OrganizerDigest, Group: g, To: to, Now: now}, "", nil, nil, true},
		{"unknown kind", OrganizerMessage{Kind: "gossip", Group: g, To: to, Now: now}, "", nil, nil, true},
		{"bad address", OrganizerMessage{Kind: OrganizerProblems, Group: g, To: gomail.Address{Address: "x\r\n@y"}, Now: now, Bad: &BadRow{MeetingID: "m"}}, "", nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := r.Render(c.msg)
			if c.wantErr {
				if err == nil {
					t.Fatal("rendered what must not be sent")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Subject != c.subject {
				t.Errorf("subject %q, want %q", out.Subject, c.subject)
			}
			mr, err := gomail.CreateReader(bytes.NewReader(out.Raw))
			if err != nil {
				t.Fatal(err)
			}
			var text, html string
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b := new(bytes.Buffer)
				b.ReadFrom(p.Body)
				if h, ok := p.Header.(*gomail.InlineHeader); ok {
					if ct, _, _ := h.ContentType(); ct == "text/html" {
						html = b.String()
					} else {
						text = b.String()
					}
				}
			}
			for _, w := range c.text {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			for _, bad := range c.notInRaw {
				if strings.Contains(string(out.Raw[:bytes.Index(out.Raw, []byte("\r\n\r\n"))]), bad) || strings.Contains(html, bad) {
					t.Errorf("message carries %q:\n%s", bad, out.Raw)
				}
			}
		})
	}
}
