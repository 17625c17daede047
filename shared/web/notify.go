package web

import (
	"context"
	"net/http"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// builder makes signed links for the site's emails and pages. Behind a Lambda
// function URL the base is the URL's domain from the request context, which AWS
// sets (a client's Host header cannot change it); elsewhere it is BaseURL.
func (s *Site) builder(r *http.Request) links.Builder {
	base := s.BaseURL
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.DomainName != "" {
		base = "https://" + rc.DomainName
	}
	return links.Builder{BaseURL: base, Signer: s.signer()}
}

func (s *Site) unsubscribeURL(r *http.Request, m group.Member) string {
	return s.builder(r).URL("/unsubscribe", links.Claims{Member: m.ID, Action: links.ActionUnsubscribe, Expires: s.Clock().Add(cycle.UnsubscribeLinkLife)}, nil)
}

// notifyPromoted logs each member moved from the waitlist to going. Their email
// ("a place opened up") was recorded in the outbox before the promotion was
// written (dynamo.Store.Answer); the outbox sweep sends it, and is nudged here.
func (s *Site) notifyPromoted(_ *http.Request, m group.Meeting, ids []string) {
	for _, id := range ids {
		s.Log.Info("promoted from the waitlist; the email is in the outbox", "meeting", m.ID, "member", id)
	}
	if len(ids) > 0 {
		s.nudge()
	}
}

// Repair runs the capacity repair for a meeting (dynamo.Store.Reconcile: places
// left wrong by a crash between an answer's two writes are put right). Each member
// it promotes gets the promotion email from the outbox, as after a POST that frees
// a place. The scheduled invitations run calls it for every upcoming meeting with
// a capacity.
func (s *Site) Repair(ctx context.Context, m group.Meeting) (group.ReconcileReport, error) {
	rep, err := s.Store.Reconcile(ctx, m.ID, m.Capacity, s.Clock())
	if err != nil {
		return rep, err
	}
	if len(rep.Resynced) > 0 || len(rep.Promoted) > 0 {
		s.Log.Warn("places repaired after an interrupted answer", "meeting", m.ID, "resynced", len(rep.Resynced), "promoted", len(rep.Promoted))
	}
	for _, id := range rep.Promoted {
		s.Log.Info("promoted from the waitlist by the repair; the email is in the outbox", "meeting", m.ID, "member", id)
	}
	if len(rep.Promoted) > 0 {
		s.nudge()
	}
	return rep, nil
}

// record puts one email in the outbox (recording the same email again changes
// nothing) and nudges the sweep.
func (s *Site) record(ctx context.Context, in group.Intent) error {
	if _, err := s.Store.RecordIntent(ctx, in); err != nil {
		return err
	}
	s.nudge()
	return nil
}

func (s *Site) nudge() {
	if s.Nudge != nil {
		s.Nudge()
	}
}
