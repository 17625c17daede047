// Package feedback acts on what SES reports about delivered mail: the events of
// the configuration set every email is sent with, delivered by SNS. A hard bounce
// or a complaint suppresses the member at once; soft bounces are counted and
// suppress after group.SoftBounceLimit. A suppressed member is never sent to again.
package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// Store is the part of shared/dynamo's Store feedback uses.
type Store interface {
	Suppress(ctx context.Context, id, reason string, now time.Time) error
	SoftBounce(ctx context.Context, id string, now time.Time) (int, error)
}

var _ Store = (*dynamo.Store)(nil)

// Event is an SES event (configuration-set event publishing: eventType) or
// notification (identity notifications: notificationType), as SNS carries it.
type Event struct {
	EventType        string     `json:"eventType"`
	NotificationType string     `json:"notificationType"`
	Bounce           *Bounce    `json:"bounce"`
	Complaint        *Complaint `json:"complaint"`
	Mail             struct {
		MessageID string `json:"messageId"`
	} `json:"mail"`
}

// Bounce is SES's bounce object.
type Bounce struct {
	BounceType        string      `json:"bounceType"` // Permanent, Transient, Undetermined
	BounceSubType     string      `json:"bounceSubType"`
	BouncedRecipients []Recipient `json:"bouncedRecipients"`
}

// Complaint is SES's complaint object.
type Complaint struct {
	ComplaintFeedbackType string      `json:"complaintFeedbackType"`
	ComplainedRecipients  []Recipient `json:"complainedRecipients"`
}

// Recipient is one address SES reports on.
type Recipient struct {
	EmailAddress   string `json:"emailAddress"`
	DiagnosticCode string `json:"diagnosticCode"`
}

// Handler handles SNS deliveries of SES events.
type Handler struct {
	Store Store
	Clock func() time.Time
	Log   *slog.Logger
}

// Outcome is what one event did to one member.
type Outcome struct {
	Member string `json:"member"` // member id, never the address
	Action string `json:"action"` // suppressed, soft bounce counted, unknown address, ignored
	Reason string `json:"reason,omitempty"`
}

// Handle acts on every record. A record that is not an SES event, or an event kind
// afterparty does not act on (deliveries, opens), is logged and skipped; a storage
// error fails the invocation so SNS retries it (every action is idempotent in
// effect: suppressing twice is one suppression; a soft bounce counted twice only
// brings the suppression one bounce nearer).
func (h *Handler) Handle(ctx context.Context, ev events.SNSEvent) ([]Outcome, error) {
	var out []Outcome
	var errs []error
	for _, rec := range ev.Records {
		var e Event
		if err := json.Unmarshal([]byte(rec.SNS.Message), &e); err != nil {
			h.Log.Warn("not an SES event; skipped", "sns_message_id", rec.SNS.MessageID, "error", err)
			continue
		}
		outcomes, err := h.event(ctx, e)
		out = append(out, outcomes...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (h *Handler) event(ctx context.Context, e Event) ([]Outcome, error) {
	kind := e.EventType
	if kind == "" {
		kind = e.NotificationType
	}
	now := h.Clock()
	var out []Outcome
	var errs []error
	act := func(addr, reason string, hard bool) {
		id := group.MemberID(addr)
		o := Outcome{Member: id, Reason: reason}
		var err error
		switch {
		case hard:
			err = h.Store.Suppress(ctx, id, reason, now)
			o.Action = "suppressed"
		default:
			var n int
			n, err = h.Store.SoftBounce(ctx, id, now)
			o.Action = fmt.Sprintf("soft bounce %d of %d", n, group.SoftBounceLimit)
			if err == nil && n >= group.SoftBounceLimit {
				err = h.Store.Suppress(ctx, id, fmt.Sprintf("%d soft bounces, the last: %s", n, reason), now)
				o.Action = "suppressed"
			}
		}
		switch {
		case errors.Is(err, dynamo.ErrNotFound):
			o.Action = "unknown address"
			h.Log.Warn("SES reported on an address that is not a member", "member", id, "event", kind)
		case err != nil:
			errs = append(errs, err)
			h.Log.Error("could not record SES feedback; SNS retries", "member", id, "event", kind, "error", err)
			return
		default:
			h.Log.Info("SES feedback", "member", id, "event", kind, "action", o.Action, "reason", reason, "ses_message_id", e.Mail.MessageID)
		}
		out = append(out, o)
	}
	switch {
	case kind == "Bounce" && e.Bounce != nil:
		hard := e.Bounce.BounceType == "Permanent"
		for _, r := range e.Bounce.BouncedRecipients {
			act(r.EmailAddress, fmt.Sprintf("%s bounce (%s) %s", e.Bounce.BounceType, e.Bounce.BounceSubType, r.DiagnosticCode), hard)
		}
	case kind == "Complaint" && e.Complaint != nil:
		for _, r := range e.Complaint.ComplainedRecipients {
			act(r.EmailAddress, "complaint ("+e.Complaint.ComplaintFeedbackType+")", true)
		}
	default:
		h.Log.Info("SES event not acted on", "event", kind, "ses_message_id", e.Mail.MessageID)
	}
	return out, errors.Join(errs...)
}
