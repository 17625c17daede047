package replies_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/shared/group"
)

const organizers = "organizers@afterparty.example"

func clientsApp(t *testing.T) (*apptest.App, group.Meeting) {
	t.Helper()
	a := apptest.New(t, map[string]string{"AFTERPARTY_REPLY_DOMAIN": domain, "AFTERPARTY_ORGANIZERS": organizers})
	a.AddMembers(t, "grace", "ken", "ada")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "2030-12-30", "title": "Tracing Go services", "starts_at": "2030-12-30T18:30",
		"venue": "Central Library"})
	return a, m
}

// TestThunderbirdReplyIsRecorded: Thunderbird (Lightning) writes its iMIP by hand
// (CalItipEmailTransport): lower-case "Content-type", 8BIT parts with raw UTF-8,
// boundaries with parentheses and plus signs, an encoded-word Subject, a VTIMEZONE,
// and the same calendar twice (inline and invite.ics). Its Yes is recorded once,
// from the calendar.
func TestThunderbirdReplyIsRecorded(t *testing.T) {
	a, m := clientsApp(t)
	h := handler(t, a, m.Start.Add(-10*24*time.Hour))
	raw := fixture(t, a, "thunderbird-accepted.eml", "grace", m, "0")
	out, err := h.Inbound(ctx, raw, nil, "", pass)
	if err != nil || out.Action != "recorded" || out.Answer != group.Yes {
		t.Fatalf("outcome %+v, %v; want recorded yes", out, err)
	}
	r, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("grace")))
	if err != nil || r.Answer != group.Yes || r.Source != group.SourceCalendar || r.Changes != 1 {
		t.Fatalf("RSVP %+v, %v; want yes from the calendar, once", r, err)
	}
	if again, err := h.Inbound(ctx, raw, nil, "", pass); err != nil || again.Action != "duplicate" {
		t.Errorf("the same message again: %+v, %v", again, err)
	}
}

// TestCounterIsForwardedOnce: Outlook's "New Time Proposed" (METHOD:COUNTER, here
// with PARTSTAT=ACCEPTED on the proposal) records nothing and reaches the organizers
// once, From the group, Reply-To the member, with its subject, its text and why.
func TestCounterIsForwardedOnce(t *testing.T) {
	a, m := clientsApp(t)
	h := handler(t, a, m.Start.Add(-10*24*time.Hour))
	raw := fixture(t, a, "outlook-counter.eml", "ken", m, "0")
	for i := range 2 {
		out, err := h.Inbound(ctx, raw, nil, "", pass)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"forwarded", "duplicate"}[i]; out.Action != want {
			t.Fatalf("delivery %d: outcome %+v, want %s", i+1, out, want)
		}
	}
	if r, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("ken"))); err == nil {
		t.Errorf("a COUNTER recorded an answer: %+v", r)
	}
	inbox := a.Inbox(t, organizers)
	if len(inbox) != 1 {
		t.Fatalf("organizers got %d emails, want 1", len(inbox))
	}
	e := inbox[0]
	if e.Subject != "New Time Proposed: Tracing Go services" {
		t.Errorf("subject %q", e.Subject)
	}
	if len(e.ReplyTo) != 1 || !strings.Contains(e.ReplyTo[0], a.Email("ken")) {
		t.Errorf("Reply-To %q, want ken", e.ReplyTo)
	}
	if !strings.Contains(e.From, "afterparty.example") || strings.Contains(e.From, a.Email("ken")) {
		t.Errorf("From %q, want the group", e.From)
	}
	for _, want := range []string{"proposes another time", "nothing was changed", "Could we start at 7?"} {
		if !strings.Contains(e.Body.Text, want) {
			t.Errorf("forward's text lacks %q:\n%s", want, e.Body.Text)
		}
	}
	if n := len(a.Inbox(t, a.Email("ken"))); n != 0 {
		t.Errorf("ken got %d emails, want none", n)
	}
}

// TestReplyToAnOlderSequence: RFC 5546 (message sequencing) orders a meeting's revisions by
// SEQUENCE, and a REPLY carries the SEQUENCE of the version it answers. Once an
// update (SEQUENCE 1: a new time) went out, a REPLY at SEQUENCE 0 answers a
// meeting that no longer exists as it was (Exchange calls such a response
// out-of-date and does not apply it either): it changes nothing, and the member
// has the update in their inbox asking again. A REPLY at the current SEQUENCE is
// recorded.
func TestReplyToAnOlderSequence(t *testing.T) {
	a, m := clientsApp(t)
	invited := m.Start.AddDate(0, 0, -14)
	if _, err := a.Runner.Run(ctx, group.Invitation, invited); err != nil {
		t.Fatal(err)
	}
	a.PutMeeting(t, map[string]string{"meeting_id": m.ID, "title": "Tracing Go services", "starts_at": "2030-12-30T19:00", "venue": "Central Library"})
	if _, err := a.Runner.Run(ctx, group.Invitation, invited.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seq, err := a.Runner.Sequence(ctx, m.ID); err != nil || seq != 1 {
		t.Fatalf("SEQUENCE %d, %v; want 1 after the update", seq, err)
	}
	h := handler(t, a, invited.Add(2*time.Hour))
	id := group.MemberID(a.Email("grace"))

	out, err := h.Inbound(ctx, fixture(t, a, "google-accepted.eml", "grace", m, "0"), nil, "", pass)
	if err != nil || out.Action != "ignored" || !strings.Contains(out.Reason, "older") {
		t.Fatalf("REPLY at SEQUENCE 0: %+v, %v; want ignored as older", out, err)
	}
	if r, err := a.Store.RSVP(ctx, m.ID, id); err == nil {
		t.Fatalf("the out-of-date REPLY recorded %+v", r)
	}
	out, err = h.Inbound(ctx, fixture(t, a, "thunderbird-accepted.eml", "grace", m, "1"), nil, "", pass)
	if err != nil || out.Action != "recorded" || out.Answer != group.Yes {
		t.Fatalf("REPLY at SEQUENCE 1: %+v, %v; want recorded yes", out, err)
	}
}

// TestLargeMessageReplyAfterAttachment: a 5 MB message (an Apple Mail reply with
// slides attached before the calendar part) is read to its REPLY, recorded, and
// timed.
func TestLargeMessageReplyAfterAttachment(t *testing.T) {
	a, m := clientsApp(t)
	h := handler(t, a, m.Start.Add(-10*24*time.Hour))
	tok, err := a.Signer.ReplyToken("", group.MemberID(a.Email("ada")), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 3_950_000) // 5.3 MB once base64 in 76-column lines
	rand.Read(blob)
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Ada Lovelace <%s>\r\nTo: Rose City Gophers <rsvp+%s@%s>\r\nSubject: Accepted: Tracing Go services\r\n"+
		"Date: Tue, 24 Nov 2026 18:01:00 +0000\r\nMessage-Id: <B7E1C2D4-big@icloud.com>\r\nMime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.400.131.1.6\\))\r\n"+
		"Content-Type: multipart/mixed; boundary=\"Apple-Mail=_5D2E1F3A-big\"\r\n\r\n", a.Email("ada"), tok, domain)
	b.WriteString("--Apple-Mail=_5D2E1F3A-big\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain;\r\n\tcharset=us-ascii\r\n\r\nSee you there, slides attached.\r\n\r\n")
	b.WriteString("--Apple-Mail=_5D2E1F3A-big\r\nContent-Disposition: attachment;\r\n\tfilename=slides.pdf\r\nContent-Type: application/pdf;\r\n\tname=\"slides.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	cal := strings.Join([]string{"BEGIN:VCALENDAR", "METHOD:REPLY", "PRODID:-//Apple Inc.//macOS 15.1//EN", "VERSION:2.0", "BEGIN:VEVENT",
		"ATTENDEE;CN=Ada Lovelace;PARTSTAT=ACCEPTED:mailto:" + a.Email("ada"),
		"DTSTAMP:20261124T180100Z", "DTSTART:20301231T023000Z", "DTEND:20301231T043000Z",
		"ORGANIZER;CN=Rose City Gophers:mailto:rsvp+" + tok + "@" + domain,
		"SEQUENCE:0", "SUMMARY:Tracing Go services", "UID:" + m.ID + "@afterparty.example", "END:VEVENT", "END:VCALENDAR"}, "\r\n")
	fmt.Fprintf(&b, "--Apple-Mail=_5D2E1F3A-big\r\nContent-Disposition: attachment;\r\n\tfilename=iCal-20261124-180100.ics\r\n"+
		"Content-Type: text/calendar;\r\n\tmethod=REPLY;\r\n\tname=\"iCal-20261124-180100.ics\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s\r\n--Apple-Mail=_5D2E1F3A-big--\r\n", cal)
	if b.Len() < 5<<20 {
		t.Fatalf("message is %d bytes, want at least 5 MB", b.Len())
	}
	start := time.Now()
	out, err := h.Inbound(ctx, b.Bytes(), nil, "", pass)
	took := time.Since(start)
	t.Logf("%d-byte message handled in %v", b.Len(), took)
	if err != nil || out.Action != "recorded" || out.Answer != group.Yes {
		t.Fatalf("outcome %+v, %v; want recorded yes", out, err)
	}
	if r, err := a.Store.RSVP(ctx, m.ID, group.MemberID(a.Email("ada"))); err != nil || r.Answer != group.Yes || r.Source != group.SourceCalendar {
		t.Errorf("RSVP %+v, %v", r, err)
	}
	if took > 10*time.Second {
		t.Errorf("a 5 MB message took %v", took)
	}
}
