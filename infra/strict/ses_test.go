package strict_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
)

const (
	from     = "Rose City Gophers <organizers@afterparty.example>"
	fromAddr = "organizers@afterparty.example"
)

type sesRig struct {
	layer  *strict.SES
	url    string
	client *sesv2.Client
	rec    *strict.Recorder
	stack  *localstack.Stack
}

// newSESRig is the local stack's own SES layer (it has verified
// afterparty.example), with configuration set "afterparty" added; its client signs
// as "invitations". What the test switches on the layer is healed when it ends.
func newSESRig(t *testing.T) *sesRig {
	t.Helper()
	stack := localstack.Get(t)
	layer := stack.SESLayer
	layer.AddConfigurationSet("afterparty")
	t.Cleanup(func() {
		layer.SetAccountError("")
		layer.SetSandbox(false)
	})
	client := sesv2.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("invitations", "local", ""),
	}, func(o *sesv2.Options) {
		o.BaseEndpoint = aws.String(stack.SESURL)
		o.RetryMaxAttempts = 1
	})
	return &sesRig{layer: layer, url: stack.SESURL, client: client, rec: stack.Recorder, stack: stack}
}

func simple(to ...string) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: to},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("Hello")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("Hi.")}},
		}},
	}
}

// rawMail is a message shaped like afterparty's (multipart/mixed: alternative
// text and HTML, an application/ics attachment), with extra header lines.
func rawMail(fromHeader, to, attachment string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n", fromHeader, to)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	b.WriteString("--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n")
	b.WriteString("--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee you there.\r\n")
	b.WriteString("--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See you there.</p>\r\n--inner--\r\n")
	fmt.Fprintf(&b, "--outer\r\nContent-Type: application/ics; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFSDQo=\r\n--outer--\r\n", attachment, attachment)
	return b.Bytes()
}

func raw(to string, data []byte) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: data}},
	}
}

// wantError checks that err is the SES error T with exactly the message want.
func wantError[T smithy.APIError](t *testing.T, err error, want string) {
	t.Helper()
	var typed T
	if !errors.As(err, &typed) {
		t.Fatalf("got %T %v, want %T", err, err, typed)
	}
	if got := typed.ErrorMessage(); got != want {
		t.Fatalf("%s message:\n got %q\nwant %q", typed.ErrorCode(), got, want)
	}
}

func TestSESRefusesWhatSESRefuses(t *testing.T) {
	r := newSESRig(t)
	ctx := context.Background()
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("m%02d@members.example", i)
	}
	longLine := "X-Long: " + strings.Repeat("a", 1000)
	tests := []struct {
		name  string
		in    *sesv2.SendEmailInput
		check func(t *testing.T, err error)
	}{
		{"from outside every identity", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.FromEmailAddress = aws.String("Gophers <organizers@elsewhere.example>")
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, "Email address is not verified. The following identities failed the check in region US-EAST-1: organizers@elsewhere.example")
		}},
		{"a parent of the verified domain is not covered", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.FromEmailAddress = aws.String("x@example")
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, "Email address is not verified. The following identities failed the check in region US-EAST-1: x@example")
		}},
		{"raw From header outside the identity", raw("ada@members.example", rawMail("Spoof <boss@elsewhere.example>", "ada@members.example", "invite.ics")), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, "Email address is not verified. The following identities failed the check in region US-EAST-1: boss@elsewhere.example")
		}},
		{"configuration set that does not exist", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.ConfigurationSetName = aws.String("nope")
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.NotFoundException](t, err, "Configuration set <nope> does not exist.")
		}},
		{"51 recipients", simple(many...), func(t *testing.T, err error) {
			wantError[*types.BadRequestException](t, err, "Recipient count exceeds 50.")
		}},
		{"recipient without a domain", simple("nobody"), func(t *testing.T, err error) {
			wantError[*types.BadRequestException](t, err, "Missing final '@domain'")
		}},
		{"recipient with a non-ASCII local part", simple("zoë@members.example"), func(t *testing.T, err error) {
			wantError[*types.BadRequestException](t, err, "Local address contains control or whitespace")
		}},
		{"raw line over 1000 characters", raw("ada@members.example", rawMail(from, "ada@members.example", "invite.ics", longLine)), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, "Line 5 of the message is longer than 1000 characters, CRLF included (RFC 5321).")
		}},
		{"raw duplicate Subject", raw("ada@members.example", rawMail(from, "ada@members.example", "invite.ics", "Subject: again")), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, "Duplicate header 'Subject'.")
		}},
		{"raw attachment of an unsupported type", raw("ada@members.example", rawMail(from, "ada@members.example", "invite.exe")), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, `Attachment file name "invite.exe" has a file extension SES does not accept.`)
		}},
		{"simple attachment of an unsupported type", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.Content.Simple.Attachments = []types.Attachment{{FileName: aws.String("Run.BAT"), RawContent: []byte("echo")}}
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.MessageRejected](t, err, `Attachment file name "Run.BAT" has a file extension SES does not accept.`)
		}},
		{"simple header name with a colon", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.Content.Simple.Headers = []types.MessageHeader{{Name: aws.String("X-A:B"), Value: aws.String("v")}}
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.BadRequestException](t, err, `Invalid header name "X-A:B": up to 126 printable ASCII characters (33-126), no colon.`)
		}},
		{"simple header value over 995 characters", func() *sesv2.SendEmailInput {
			in := simple("ada@members.example")
			in.Content.Simple.Headers = []types.MessageHeader{{Name: aws.String("X-Long"), Value: aws.String(strings.Repeat("v", 996))}}
			return in
		}(), func(t *testing.T, err error) {
			wantError[*types.BadRequestException](t, err, "Invalid value of header X-Long: up to 995 printable ASCII characters, and name and value together up to 996.")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.client.SendEmail(ctx, tt.in)
			tt.check(t, err)
		})
	}
	if got := r.stack.Emails(t, "ada@members.example"); len(got) != 0 {
		t.Fatalf("refused sends reached the emulator: %d emails", len(got))
	}
}

func TestSESRefusesAMessageOver40MB(t *testing.T) {
	r := newSESRig(t)
	// 31 MiB of 76-character lines: about 41.3 MB after base64, over 40 MiB.
	line := strings.Repeat("a", 74) + "\r\n"
	body := strings.Repeat(line, 31<<20/len(line))
	data := []byte("From: " + from + "\r\nTo: ada@members.example\r\nSubject: big\r\n\r\n" + body)
	_, err := r.client.SendEmail(context.Background(), raw("ada@members.example", data))
	encoded := (len(data) + 2) / 3 * 4
	wantError[*types.MessageRejected](t, err, fmt.Sprintf("Message length is more than 41943040 bytes long: '%d'.", encoded))
}

func TestSESSandbox(t *testing.T) {
	r := newSESRig(t)
	ctx := context.Background()
	r.layer.SetSandbox(true, "ada@members.example")
	_, err := r.client.SendEmail(ctx, simple("ada@members.example", "bob@members.example"))
	wantError[*types.MessageRejected](t, err, "Email address is not verified. The following identities failed the check in region US-EAST-1: bob@members.example")
	for _, to := range []string{"ada@members.example", "organizers@afterparty.example", "success@simulator.amazonses.com"} {
		if _, err := r.client.SendEmail(ctx, simple(to)); err != nil {
			t.Fatalf("sandbox refused verified recipient %s: %v", to, err)
		}
	}
	admin(t, r.url, "sandbox?on=0")
	if _, err := r.client.SendEmail(ctx, simple("bob@members.example")); err != nil {
		t.Fatalf("out of the sandbox: %v", err)
	}
	admin(t, r.url, "sandbox?on=1&verified=carol@members.example")
	if _, err := r.client.SendEmail(ctx, simple("carol@members.example")); err != nil {
		t.Fatalf("sandbox set over HTTP refused its verified recipient: %v", err)
	}
	_, err = r.client.SendEmail(ctx, simple("ada@members.example"))
	wantError[*types.MessageRejected](t, err, "Email address is not verified. The following identities failed the check in region US-EAST-1: ada@members.example")
}

func TestSESAccountErrors(t *testing.T) {
	r := newSESRig(t)
	ctx := context.Background()
	r.layer.SetAccountError("SendingPausedException")
	_, err := r.client.SendEmail(ctx, simple("ada@members.example"))
	wantError[*types.SendingPausedException](t, err, strict.AccountErrors["SendingPausedException"])
	admin(t, r.url, "account-error?code=MailFromDomainNotVerifiedException")
	_, err = r.client.SendEmail(ctx, simple("ada@members.example"))
	wantError[*types.MailFromDomainNotVerifiedException](t, err, strict.AccountErrors["MailFromDomainNotVerifiedException"])
	r.layer.SetAccountError("AccountSuspendedException")
	_, err = r.client.SendEmail(ctx, simple("ada@members.example"))
	wantError[*types.AccountSuspendedException](t, err, strict.AccountErrors["AccountSuspendedException"])
	admin(t, r.url, "account-error?code=")
	if _, err := r.client.SendEmail(ctx, simple("ada@members.example")); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	resp, err := http.Post(r.url+"/_strict/ses/account-error?code=NoSuchError", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown account error: status %d, want 400", resp.StatusCode)
	}
}

func admin(t *testing.T, base, what string) {
	t.Helper()
	resp, err := http.Post(base+"/_strict/ses/"+what, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_strict/ses/%s: status %d", what, resp.StatusCode)
	}
}

// What afterparty sends passes and reaches the emulator, and each call is
// recorded against the identity and configuration set it used.
func TestSESValidSendsReachTheEmulator(t *testing.T) {
	r := newSESRig(t)
	ctx := context.Background()
	in := raw("ada@valid.example", rawMail(from, "Ada <ada@valid.example>", "invite.ics"))
	in.ConfigurationSetName = aws.String("afterparty")
	if _, err := r.client.SendEmail(ctx, in); err != nil {
		t.Fatalf("raw send like afterparty's: %v", err)
	}
	s := simple("bob@valid.example")
	s.FromEmailAddress = aws.String("news@lists.afterparty.example") // a subdomain of the verified domain
	s.Content.Simple.Headers = []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://afterparty.example/u>")}}
	s.Content.Simple.Attachments = []types.Attachment{{FileName: aws.String("invite.ics"), ContentType: aws.String("text/calendar"), RawContent: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}}
	if _, err := r.client.SendEmail(ctx, s); err != nil {
		t.Fatalf("simple send with headers and attachment: %v", err)
	}
	if got := r.stack.Emails(t, "ada@valid.example"); len(got) != 1 || got[0].Subject != "Invitation" {
		t.Fatalf("raw send did not reach the emulator's store: %+v", got)
	}
	if got := r.stack.Emails(t, "bob@valid.example"); len(got) != 1 {
		t.Fatalf("simple send did not reach the emulator's store: %+v", got)
	}
	if _, err := r.client.GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil {
		t.Fatalf("GetAccount through the layer: %v", err)
	}
	// The emulator's own pages pass through.
	resp, err := http.Get(r.url + "/store")
	if err != nil {
		t.Fatal(err)
	}
	var store struct{ Emails []json.RawMessage }
	err = json.NewDecoder(resp.Body).Decode(&store)
	resp.Body.Close()
	if err != nil || len(store.Emails) == 0 {
		t.Fatalf("GET /store through the layer: %v, %d emails", err, len(store.Emails))
	}
	want := []strict.Call{
		{Action: "ses:GetAccount", Resource: "*"},
		{Action: "ses:SendEmail", Resource: "configuration-set/afterparty"},
		{Action: "ses:SendEmail", Resource: "identity/afterparty.example"},
	}
	if got := r.rec.Calls("invitations"); !slices.Equal(got, want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
}
