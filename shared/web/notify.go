package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
	"github.com/afterparty/afterparty/shared/links"
)

const (
	noticeJoinConfirm = emails.NoticeJoinConfirm
	noticeWelcome     = emails.NoticeWelcome
	noticePromoted    = emails.NoticePromoted
	noticeWaitlisted  = emails.NoticeWaitlisted
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

// notifyPromoted emails each member moved from the waitlist to going, at once. A
// failure is logged: their place is theirs either way, and the RSVP page says so.
func (s *Site) notifyPromoted(r *http.Request, m group.Meeting, ids []string) {
	if len(ids) == 0 {
		return
	}
	members, err := s.Store.Members(r.Context(), ids)
	if err != nil {
		s.Log.Error("read promoted members", "meeting", m.ID, "error", err)
		return
	}
	for _, id := range ids {
		member, ok := members[id]
		if !ok || member.Status != group.MemberActive {
			continue
		}
		if err := s.sendNotice(r, noticePromoted, member, &m, ""); err != nil {
			s.Log.Error("send promotion", "meeting", m.ID, "member", id, "error", err)
			continue
		}
		s.Log.Info("promoted from the waitlist", "meeting", m.ID, "member", id)
	}
}

// Repair runs the capacity repair for a meeting (dynamo.Store.Reconcile: places
// left wrong by a crash between an answer's two writes are put right) and emails
// each member it promoted from the waitlist, as a POST that frees a place does. The
// scheduled invitations run calls it for every upcoming meeting with a capacity.
func (s *Site) Repair(ctx context.Context, m group.Meeting) (dynamo.ReconcileReport, error) {
	rep, err := s.Store.Reconcile(ctx, m.ID, m.Capacity, s.Clock())
	if err != nil {
		return rep, err
	}
	if len(rep.Resynced) > 0 || len(rep.Promoted) > 0 {
		s.Log.Warn("places repaired after an interrupted answer", "meeting", m.ID, "resynced", len(rep.Resynced), "promoted", len(rep.Promoted))
	}
	if len(rep.Promoted) > 0 {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL, nil)
		if err != nil {
			return rep, err
		}
		s.notifyPromoted(r, m, rep.Promoted)
	}
	return rep, nil
}

// sendNotice renders and sends one notice through SES.
func (s *Site) sendNotice(r *http.Request, kind string, member group.Member, m *group.Meeting, confirm string, position ...int) error {
	if s.SES == nil || s.Notices == nil {
		return fmt.Errorf("the site has no email sender")
	}
	now := s.Clock()
	b := s.builder(r)
	unsub := s.unsubscribeURL(r, member)
	n := emails.Notice{
		Kind:    kind,
		Group:   emails.Group{Name: s.GroupName, From: s.From, Organizers: s.Organizers},
		Member:  member,
		Meeting: m,
		Links:   emails.NoticeLinks{Confirm: confirm, Unsubscribe: unsub, UnsubscribeOneClick: unsub, MeetingPage: b.BaseURL + "/calendar.ics"},
		Now:     now,
	}
	if len(position) > 0 {
		n.Position = position[0]
	}
	if m != nil {
		ml := cycle.MemberLinks(b, *m, member, now)
		details := "Details: " + ml.MeetingPage
		n.Links.RSVP = b.URL("/rsvp", links.Claims{Member: member.ID, Meeting: m.ID, Action: links.ActionRSVP, Expires: m.End.Add(cycle.AnswerLinkLife)}, url.Values{"answer": {"no"}})
		n.Links.Calendar, n.Links.MeetingPage = ml.Calendar, ml.MeetingPage
		n.Links.Google, n.Links.Outlook = ical.GoogleCalendarURL(*m, details), ical.OutlookURL(*m, details)
		if rsvp, err := s.Store.RSVP(r.Context(), m.ID, member.ID); err == nil {
			n.Guests = max(rsvp.Seats-1, 0)
		}
	}
	out, err := s.Notices.Render(n)
	if err != nil {
		return err
	}
	from := s.From.String()
	in := &sesv2.SendEmailInput{
		FromEmailAddress: &from,
		Destination:      &types.Destination{ToAddresses: []string{member.Email}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: out.Raw}},
	}
	_, err = s.SES.SendEmail(r.Context(), in)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", kind, member.ID, err)
	}
	return nil
}
