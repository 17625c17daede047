package replies

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gomail "github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/web"
)

// ReplyPrefix starts the local part of a reply address (cycle.ReplyLocalPrefix).
const ReplyPrefix = "rsvp+"

// Store is the part of shared/dynamo's Store replies uses.
type Store interface {
	Member(ctx context.Context, id string) (group.Member, error)
	ClaimInbound(ctx context.Context, messageID string, now time.Time) (bool, error)
	ReleaseInbound(ctx context.Context, messageID string) error
	Announcement(ctx context.Context, meetingID string) (group.Announcement, error)
}

// Meetings lists the schedule's valid meetings (cycle.Runner.Meetings).
type Meetings func(ctx context.Context) ([]group.Meeting, map[string]group.Problems, error)

// Answers records an answer given in a calendar (web.Site.CalendarAnswer).
type Answers interface {
	CalendarAnswer(ctx context.Context, m group.Meeting, member group.Member, a group.Answer) (web.CalendarBooking, error)
}

// Forwarder sends a message on to the organizers once (cycle.Runner.Forward).
type Forwarder func(ctx context.Context, meetingID, key string, render func(to group.Member) ([]byte, error)) (campaign.Result, error)

// S3 is the SDK call the handler reads stored messages with.
type S3 interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Handler handles one received message.
type Handler struct {
	Store    Store
	Meetings Meetings
	Answers  Answers
	Forward  Forwarder
	Signer   *links.Signer
	// S3, Bucket and Prefix: where the receipt rule's S3 action stored the message
	// (object key Prefix + SES message id).
	S3             S3
	Bucket, Prefix string
	ReplyDomain    string       // lower case
	From           mail.Address // the group's From: never forward our own mail
	Clock          func() time.Time
	Log            *slog.Logger
}

// Verdicts are what SES found about the sender: PASS, FAIL, GRAY or
// PROCESSING_FAILED for each.
type Verdicts struct {
	SPF, DKIM, DMARC, Spam, Virus string
}

// Authenticated reports whether the From domain is vouched for: DMARC passed, or,
// where the domain publishes no DMARC policy (GRAY), SPF or DKIM passed.
func (v Verdicts) Authenticated() bool {
	if v.DMARC == "PASS" {
		return true
	}
	return v.DMARC == "GRAY" && (v.SPF == "PASS" || v.DKIM == "PASS")
}

// Outcome says what became of a message; Handle logs it.
type Outcome struct {
	Action  string // recorded, forwarded, ignored, duplicate
	Reason  string
	Meeting string
	Member  string
	Answer  group.Answer
	Place   string
}

// Handle is the Lambda handler for the SES receipt rule's Lambda action, which
// runs after its S3 action stored the message.
func (h *Handler) Handle(ctx context.Context, ev events.SimpleEmailEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		ses := rec.SES
		v := Verdicts{SPF: ses.Receipt.SPFVerdict.Status, DKIM: ses.Receipt.DKIMVerdict.Status, DMARC: ses.Receipt.DMARCVerdict.Status,
			Spam: ses.Receipt.SpamVerdict.Status, Virus: ses.Receipt.VirusVerdict.Status}
		raw, err := h.fetch(ctx, ses.Mail.MessageID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := h.Inbound(ctx, raw, ses.Receipt.Recipients, ses.Mail.MessageID, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) fetch(ctx context.Context, sesID string) ([]byte, error) {
	if sesID == "" || strings.ContainsAny(sesID, "/") {
		return nil, fmt.Errorf("SES message id %q is not an object key", sesID)
	}
	key := h.Prefix + sesID
	out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &h.Bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("read received message %s from S3: %w", sesID, err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read received message %s from S3: %w", sesID, err)
	}
	return raw, nil
}

// Inbound handles one raw message received for recipients (the envelope's; the
// To header's if none), identified by sesID (or its Message-ID). A message is
// handled once: a second delivery is a duplicate. An error means nothing was
// done and a retry may succeed.
func (h *Handler) Inbound(ctx context.Context, raw []byte, recipients []string, sesID string, v Verdicts) (Outcome, error) {
	out, err := h.inbound(ctx, raw, recipients, sesID, v)
	if err != nil {
		h.Log.Error("received message not handled; SES retries it", "ses_id", sesID, "error", err)
		return out, err
	}
	h.Log.Info("received message", "ses_id", sesID, "action", out.Action, "reason", out.Reason,
		"meeting", out.Meeting, "member", out.Member, "answer", out.Answer, "place", out.Place)
	return out, nil
}

func (h *Handler) inbound(ctx context.Context, raw []byte, recipients []string, sesID string, v Verdicts) (Outcome, error) {
	p, err := Parse(raw)
	if err != nil {
		return Outcome{Action: "ignored", Reason: "not a readable message: " + err.Error()}, nil
	}
	id := p.MessageID
	if id == "" {
		id = sesID
	}
	if id == "" {
		sum := sha256.Sum256(raw)
		id = hex.EncodeToString(sum[:])
	}
	if v.Virus == "FAIL" || v.Spam == "FAIL" {
		return Outcome{Action: "ignored", Reason: "SES found spam or a virus"}, nil
	}
	if p.From == nil {
		return Outcome{Action: "ignored", Reason: "no From"}, nil
	}
	if p.Auto != "" && !serverReply(p) {
		return Outcome{Action: "ignored", Reason: "sent by a machine (" + p.Auto + ")"}, nil
	}
	if h.ours(p.From.Address) {
		return Outcome{Action: "ignored", Reason: "our own mail"}, nil
	}
	first, err := h.Store.ClaimInbound(ctx, id, h.Clock())
	if err != nil {
		return Outcome{}, err
	}
	if !first {
		return Outcome{Action: "duplicate", Reason: "this message was handled before"}, nil
	}
	out, err := h.handle(ctx, p, raw, recipients, v, id)
	if err != nil {
		if rerr := h.Store.ReleaseInbound(ctx, id); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return out, err
}

func (h *Handler) ours(addr string) bool {
	_, domain, _ := strings.Cut(addr, "@")
	return strings.EqualFold(addr, h.From.Address) || (h.ReplyDomain != "" && strings.EqualFold(domain, h.ReplyDomain))
}

// token finds the reply token in the recipients: rsvp+TOKEN@<reply domain>.
func (h *Handler) token(recipients []string) string {
	for _, r := range recipients {
		local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(r)), "@")
		if !ok || (h.ReplyDomain != "" && domain != h.ReplyDomain) {
			continue
		}
		if tok, ok := strings.CutPrefix(local, ReplyPrefix); ok {
			return tok
		}
	}
	return ""
}

func (h *Handler) handle(ctx context.Context, p *Parsed, raw []byte, recipients []string, v Verdicts, id string) (Outcome, error) {
	if len(recipients) == 0 {
		recipients = p.To
	}
	meetings, _, err := h.Meetings(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("read the schedule: %w", err)
	}
	byID := map[string]group.Meeting{}
	ids := make([]string, 0, len(meetings))
	for _, m := range meetings {
		byID[m.ID] = m
		ids = append(ids, m.ID)
	}
	now := h.Clock()
	var claims *links.ReplyClaims
	var member group.Member
	if tok := h.token(recipients); tok != "" {
		c, err := h.Signer.VerifyReply(tok, ids, now)
		if err != nil {
			h.Log.Warn("reply address with a bad token", "error", err)
		} else {
			claims = &c
			if member, err = h.Store.Member(ctx, c.Member); err != nil {
				if !errors.Is(err, group.ErrNotFound) {
					return Outcome{}, err
				}
				claims = nil
			}
		}
	}
	reply := replyOf(p)
	fwdKey := id
	switch {
	case reply != nil && reply.method == "REPLY":
		if claims == nil {
			return Outcome{Action: "ignored", Reason: "calendar reply without a valid reply token"}, nil
		}
		return h.record(ctx, p, v, *reply, byID[claims.Meeting], member)
	case reply != nil && reply.method == "COUNTER":
		return h.forward(ctx, p, raw, claims, member, fwdKey, "proposes another time (a calendar COUNTER); nothing was changed")
	case reply != nil:
		return Outcome{Action: "ignored", Reason: "calendar " + reply.method + " changes nothing"}, nil
	case p.TNEF:
		return h.forward(ctx, p, raw, claims, member, fwdKey, "answered from Outlook in a format we cannot read (winmail.dat); nothing was recorded: please check their answer")
	default:
		return h.forward(ctx, p, raw, claims, member, fwdKey, "")
	}
}

type replyPart struct {
	method string
	event  Event
}

func replyOf(p *Parsed) *replyPart {
	for _, c := range p.Calendars {
		if len(c.Events) > 0 {
			return &replyPart{method: c.Method, event: c.Events[0]}
		}
	}
	return nil
}

// serverReply reports whether a message marked by a machine is a calendar REPLY
// that a calendar server sent for the member: CalDAV servers that schedule by email
// (Cyrus, behind Fastmail) mark their iMIP messages "Auto-Submitted:
// auto-generated" (RFC 3834 §5), which an answer pressed in the calendar is. An
// auto-reply (auto-replied, vacation notices) or a delivery report is never one.
func serverReply(p *Parsed) bool {
	r := replyOf(p)
	return r != nil && r.method == "REPLY" && p.Auto == "Auto-Submitted: auto-generated"
}

var partstat = map[string]group.Answer{"ACCEPTED": group.Yes, "TENTATIVE": group.Maybe, "DECLINED": group.No}

// record records a calendar REPLY for the member its reply token names.
func (h *Handler) record(ctx context.Context, p *Parsed, v Verdicts, r replyPart, m group.Meeting, member group.Member) (Outcome, error) {
	out := Outcome{Action: "ignored", Meeting: m.ID, Member: member.ID}
	if m.ID == "" {
		out.Reason = "the meeting is no longer in the schedule"
		return out, nil
	}
	if uid, _, _ := strings.Cut(r.event.UID, "@"); r.event.UID != "" && uid != m.ID {
		out.Reason = "the reply's UID is another meeting's"
		return out, nil
	}
	email := group.NormalizeEmail(member.Email)
	fromMember := group.NormalizeEmail(p.From.Address) == email
	var att *Attendee
	for i, a := range r.event.Attendees {
		if a.Email == email || (att == nil && len(r.event.Attendees) == 1) {
			att = &r.event.Attendees[i]
		}
	}
	if att == nil {
		out.Reason = "no ATTENDEE answers"
		return out, nil
	}
	switch {
	case !fromMember && !v.Authenticated():
		out.Reason = "From is not the member and SES could not authenticate the sender"
		return out, nil
	case !fromMember && att.Email != email:
		out.Reason = "answered by someone else (a forwarded invitation)"
		return out, nil
	}
	a, ok := partstat[att.PartStat]
	if !ok {
		out.Reason = "PARTSTAT " + att.PartStat + " is not an answer"
		return out, nil
	}
	out.Answer = a
	if m.Cancelled() {
		out.Reason = "the meeting is cancelled"
		return out, nil
	}
	if !h.Clock().Before(m.Start) {
		out.Reason = "the meeting has started"
		return out, nil
	}
	if ann, err := h.Store.Announcement(ctx, m.ID); err == nil && r.event.Sequence < ann.Sequence {
		out.Reason = fmt.Sprintf("a reply to SEQUENCE %d, older than the meeting's %d (RFC 5546 §3.2.3: the attendee has not seen the change)", r.event.Sequence, ann.Sequence)
		return out, nil
	} else if err != nil && !errors.Is(err, group.ErrNotFound) {
		return Outcome{}, err
	}
	b, err := h.Answers.CalendarAnswer(ctx, m, member, a)
	if err != nil {
		return Outcome{}, fmt.Errorf("record the calendar answer of %s for %s: %w", member.ID, m.ID, err)
	}
	out.Action, out.Place = "recorded", b.RSVP.Place
	return out, nil
}

// forward sends a message on to the organizers, From the group, Reply-To its
// sender, with its subject and text; note says why, for messages that are not
// plain human mail.
func (h *Handler) forward(ctx context.Context, p *Parsed, raw []byte, claims *links.ReplyClaims, member group.Member, key, note string) (Outcome, error) {
	out := Outcome{Action: "forwarded", Reason: note}
	meetingID := "inbound"
	if claims != nil {
		meetingID, out.Meeting, out.Member = claims.Meeting, claims.Meeting, member.ID
	}
	sum := sha256.Sum256([]byte(key))
	res, err := h.Forward(ctx, meetingID, hex.EncodeToString(sum[:8]), func(to group.Member) ([]byte, error) {
		return h.forwardMessage(p, raw, claims != nil, member, to, note)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("forward to the organizers: %w", err)
	}
	if res.Pending > 0 {
		return Outcome{}, fmt.Errorf("forward to the organizers: %d not sent yet", res.Pending)
	}
	return out, nil
}

// maxAttached is the largest original message attached to a forward (SES sends
// at most 40 MB, base64 grows by a third).
const maxAttached = 10 << 20

func (h *Handler) forwardMessage(p *Parsed, raw []byte, known bool, member group.Member, to group.Member, note string) ([]byte, error) {
	var hd gomail.Header
	hd.SetDate(h.Clock())
	hd.SetAddressList("From", []*gomail.Address{{Name: h.From.Name, Address: h.From.Address}})
	hd.SetAddressList("To", []*gomail.Address{{Name: to.Name, Address: to.Email}})
	hd.SetAddressList("Reply-To", []*gomail.Address{{Name: p.From.Name, Address: p.From.Address}})
	hd.SetSubject(p.Subject)
	hd.Set("Auto-Submitted", "auto-generated") // RFC 3834: no auto-reply to a forward
	if err := hd.GenerateMessageID(); err != nil {
		return nil, err
	}
	who := p.From.Address
	if p.From.Name != "" {
		who = p.From.Name + " <" + p.From.Address + ">"
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%s wrote to the group's reply address", who)
	if known {
		fmt.Fprintf(&text, " (member %s)", member.ID)
	}
	text.WriteString(". Reply to this email to answer them.\n")
	if note != "" {
		text.WriteString("They " + note + ".\n")
	}
	text.WriteString("\n" + p.Text)
	var b bytes.Buffer
	w, err := gomail.CreateWriter(&b, hd)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, err := w.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, text.String()); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if len(raw) <= maxAttached {
		var ah gomail.AttachmentHeader
		ah.SetContentType("application/octet-stream", nil) // message/rfc822 may not be base64 (RFC 2046 §5.2.1)
		ah.SetFilename("original.eml")
		aw, err := w.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(raw); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
