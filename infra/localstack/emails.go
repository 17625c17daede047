package localstack

import (
	"encoding/json"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// Email is one email as aws-ses-v2-local 2.10.2 keeps it: an element of
// `emails` in the JSON of GET /store.
//
// For Raw content (what afterparty sends) the emulator keeps only what npm
// mailparser extracted from the MIME message, measured by sending a
// multipart/mixed message (multipart/alternative of text, html and a
// text/calendar part, plus a base64 application/ics attachment):
//
//   - destination.to/cc/bcc come from the MIME To/Cc/Bcc headers, not from the
//     SendEmail call's Destination (which is ignored), as ONE string per header:
//     "To: Ada <ada@example.org>, bob@example.org" is stored as
//     ["\"Ada\" <ada@example.org>, bob@example.org"]. Recipients parses them.
//   - from is re-rendered ("\"Rose City Gophers\" <organizers@afterparty.example>");
//     replyTo is [the Reply-To header] or [].
//   - subject is decoded (RFC 2047 encoded-words become UTF-8).
//   - body.text and body.html are the text/plain and text/html parts, decoded;
//     body.html is absent when the message has no HTML part. A part's last line
//     break is kept only in a single-part message ("Just text.\n"); in a multipart
//     one it belongs to the boundary ("Hello Ada, plain.").
//   - attachments holds every other leaf part, inline ones too: the text/calendar
//     alternative appears with contentType "text/calendar" (parameters such as
//     method=REQUEST are dropped), no filename and no contentDisposition; a real
//     attachment has filename, contentType, contentDisposition "attachment".
//     content is the decoded part, base64-encoded in the JSON; checksum is its MD5
//     in hex; partId is its MIME part number ("1.3", "2"); headers is always {}.
//   - headers is absent: custom headers (List-Unsubscribe, ...) are dropped, so
//     check them on the generated MIME in the sender's own tests.
//   - at is the Unix time in seconds at which the emulator received it.
//
// For Simple and Template content the fields are the SendEmail call's own, and
// headers holds Content.Simple.Headers.
type Email struct {
	MessageID   string       `json:"messageId"`
	From        string       `json:"from"`
	ReplyTo     []string     `json:"replyTo"`
	Destination Destination  `json:"destination"`
	Subject     string       `json:"subject"`
	Body        Body         `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Headers     []Header     `json:"headers"`
	At          int64        `json:"at"`
}

// Destination holds the recipients; for Raw content each element is a whole
// address-list header (see Email).
type Destination struct {
	To  []string `json:"to"`
	Cc  []string `json:"cc"`
	Bcc []string `json:"bcc"`
}

// Body is the text and HTML of an email.
type Body struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// Attachment is a stored attachment (for Raw content: any non-body leaf part).
type Attachment struct {
	Filename           string `json:"filename"`
	ContentType        string `json:"contentType"`
	ContentDisposition string `json:"contentDisposition"`
	ContentID          string `json:"contentId"`
	Content            []byte `json:"content"` // decoded: the JSON carries base64
	Size               int    `json:"size"`
	Checksum           string `json:"checksum"` // Raw only: MD5 of Content, hex
	PartID             string `json:"partId"`   // Raw only: MIME part number
}

// Header is a header given with Simple or Template content.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Time is when the emulator received the email (second precision).
func (e Email) Time() time.Time { return time.Unix(e.At, 0) }

// Recipients are the bare addresses (lower case) of To, Cc and Bcc.
func (e Email) Recipients() []string {
	var out []string
	for _, list := range [][]string{e.Destination.To, e.Destination.Cc, e.Destination.Bcc} {
		for _, field := range list {
			addrs, err := mail.ParseAddressList(field)
			if err != nil {
				out = append(out, strings.ToLower(strings.TrimSpace(field)))
				continue
			}
			for _, a := range addrs {
				out = append(out, strings.ToLower(a.Address))
			}
		}
	}
	return out
}

// AllEmails is every email the SES emulator has stored, oldest first. The
// emulator is shared by the package's tests: give each test its own recipients
// and use Emails.
func (s *Stack) AllEmails(tb testing.TB) []Email {
	tb.Helper()
	resp, err := http.Get(s.SESURL + "/store")
	if err != nil {
		tb.Fatalf("localstack: read the SES store: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("localstack: GET /store: %s", resp.Status)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		tb.Fatalf("localstack: decode the SES store: %v", err)
	}
	return store.Emails
}

// Emails is every stored email with to (an address, any case) among its To, Cc
// or Bcc recipients, oldest first.
func (s *Stack) Emails(tb testing.TB, to string) []Email {
	tb.Helper()
	want := strings.ToLower(strings.TrimSpace(to))
	if a, err := mail.ParseAddress(to); err == nil {
		want = strings.ToLower(a.Address)
	}
	var out []Email
	for _, e := range s.AllEmails(tb) {
		for _, r := range e.Recipients() {
			if r == want {
				out = append(out, e)
				break
			}
		}
	}
	return out
}
