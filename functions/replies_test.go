package functions_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/lambdatest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

const (
	replyDomain   = "reply.afterparty.example"
	inboundPrefix = "inbound/"
)

// replyMessage is shared/replies' fixture file (e.g. google-accepted.eml, a Google
// Calendar REPLY) filled in for the member (email) and meeting: From the member,
// to the member's reply address, a token from signer.
func replyMessage(t *testing.T, file string, signer *links.Signer, email string, m group.Meeting) (raw []byte, replyTo string) {
	t.Helper()
	b, err := os.ReadFile("../shared/replies/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.ReplyToken("", group.MemberID(email), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	run := make([]byte, 6)
	_, _ = rand.Read(run)
	replyTo = "rsvp+" + tok + "@" + replyDomain
	raw = []byte(strings.NewReplacer("{{MEMBER}}", email, "{{TOKEN}}", tok, "{{DOMAIN}}", replyDomain,
		"{{UID}}", m.ID+"@afterparty.example", "{{SEQ}}", "0", "{{RUN}}", hex.EncodeToString(run)).Replace(string(b)))
	return raw, replyTo
}

// storeReceived stores raw in the local S3 as the receipt rule's S3 action does
// and returns the Lambda action's event for it.
func storeReceived(t *testing.T, stack *localstack.Stack, raw []byte, sender, recipient string) []byte {
	t.Helper()
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	sesID := hex.EncodeToString(id)
	stack.S3.Put(localstack.LocalInboundBucket, inboundPrefix+sesID, raw)
	return receiptEvent(t, sesID, sender, recipient)
}

// receiptEvent is the SES receipt rule's Lambda action event (testdata, in the
// shape AWS documents) for a message SES stored as sesID, sent by sender to
// recipient.
func receiptEvent(t *testing.T, sesID, sender, recipient string) []byte {
	t.Helper()
	ev := strings.NewReplacer("MESSAGE_ID", sesID, "SENDER", sender, "RECIPIENT", recipient).
		Replace(string(fixture(t, "ses-receipt-lambda.json")))
	var parsed events.SimpleEmailEvent
	if err := json.Unmarshal([]byte(ev), &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Records) != 1 || parsed.Records[0].SES.Receipt.Action.Type != "Lambda" ||
		parsed.Records[0].SES.Mail.MessageID != sesID || parsed.Records[0].SES.Receipt.DMARCVerdict.Status != "PASS" {
		t.Fatalf("fixture is not an SES receipt event: %+v", parsed)
	}
	return []byte(ev)
}

func repliesEnv(a *apptest.App) []string {
	return append(env(a), "AFTERPARTY_REPLY_DOMAIN="+replyDomain,
		"AFTERPARTY_INBOUND_BUCKET="+localstack.LocalInboundBucket, "AFTERPARTY_INBOUND_PREFIX="+inboundPrefix)
}

// TestRepliesFunctionUnderRIE: a Google Calendar Yes, stored in S3 by the receipt
// rule's S3 action, reaches the built replies function as the Lambda action's
// event and is recorded as the member's Yes; SES delivering the event twice
// records it once; an event whose message is not in the bucket fails, so that
// Lambda retries it.
func TestRepliesFunctionUnderRIE(t *testing.T) {
	a := apptest.New(t, map[string]string{"AFTERPARTY_LINK_SECRET": secret, "AFTERPARTY_REPLY_DOMAIN": replyDomain})
	ms := a.AddMembers(t, "ada")
	m := a.PutMeeting(t, map[string]string{"meeting_id": "replies-rie", "title": "Tracing Go services",
		"starts_at": "2031-03-13T18:30", "venue": "Central Library"})
	f := lambdatest.Start(t, lambdatest.Build(t, "replies"), repliesEnv(a))
	ctx := context.Background()

	raw, replyTo := replyMessage(t, "google-accepted.eml", a.Signer, a.Email("ada"), m)
	ev := storeReceived(t, a.Stack, raw, a.Email("ada"), replyTo)

	f.Invoke(t, ev)
	r, err := a.Store.RSVP(ctx, m.ID, ms["ada"].ID)
	if err != nil || r.Answer != group.Yes || r.Changes != 1 {
		t.Fatalf("after the calendar Yes: RSVP %+v, %v; want Yes, answered once", r, err)
	}
	f.Invoke(t, ev)
	if r, err = a.Store.RSVP(ctx, m.ID, ms["ada"].ID); err != nil || r.Answer != group.Yes || r.Changes != 1 {
		t.Fatalf("after the same event again: RSVP %+v, %v; want Yes, answered once", r, err)
	}

	missing := receiptEvent(t, "never-stored", a.Email("ada"), replyTo)
	if res := f.Call(t, missing); !strings.Contains(res.FunctionError, "NoSuchKey") {
		t.Fatalf("an event whose message is not in S3: error %q, want one naming NoSuchKey", res.FunctionError)
	}
	t.Logf("replies cold start %v", f.ColdStart())
}
