package web

import (
	"errors"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// kindChoice is one message kind on the preferences form.
type kindChoice struct {
	Kind        group.Kind
	Label, Hint string
	Wanted      bool
}

var kindLabels = map[group.Kind][2]string{
	group.Invitation:  {"Invitations", "about two weeks before each meeting, with the calendar invite (a meeting already in your calendar still gets its changes and cancellation)"},
	group.Reminder:    {"Reminders", "two days before a meeting you haven't said No to"},
	group.Teaser:      {"Icebreaker teasers", "the night before: the icebreaker question and the speaker's intro"},
	group.Pub:         {"After-party emails", "when the talk ends: which pub, and the map"},
	group.Connections: {"Stay in touch", "the morning after: who did you meet? and the introductions you both asked for"},
}

func kindChoices(m group.Member) []kindChoice {
	var out []kindChoice
	for _, k := range group.Kinds {
		l, ok := kindLabels[k]
		if !ok {
			l = [2]string{strings.ToUpper(string(k[:1])) + string(k[1:]), ""}
		}
		muted := false
		for _, x := range m.Muted {
			muted = muted || x == k
		}
		out = append(out, kindChoice{Kind: k, Label: l[0], Hint: l[1], Wanted: !muted})
	}
	return out
}

// unsubscribe is the page the unsubscribe link opens, and the target of the RFC 8058
// one-click POST (body List-Unsubscribe=One-Click, no cookies), which unsubscribes
// at once. The page's forms post action=unsubscribe, action=resubscribe or
// action=preferences (with one "keep" value per kind the member still wants).
func (s *Site) unsubscribe(w http.ResponseWriter, r *http.Request) {
	token, member, ok := s.memberLink(w, r, links.ActionUnsubscribe)
	if !ok {
		return
	}
	v := view{Title: "Your emails from " + s.GroupName, Token: token, Member: member, Active: member.Status == group.MemberActive,
		Suppressed: member.Status == group.MemberSuppressed}
	if r.Method == http.MethodPost && v.Suppressed {
		// They already get nothing; unsubscribing changes nothing, and only an
		// organizer may make the address active again.
		action := r.FormValue("action")
		if action == "resubscribe" || action == "preferences" {
			s.suppressed(w, member)
			return
		}
		s.Log.Info("unsubscribe of a suppressed member: nothing to change", "member", member.ID)
		v.Recorded = true
		v.Kinds = kindChoices(v.Member)
		s.render(w, http.StatusOK, "unsubscribe", v)
		return
	}
	if r.Method == http.MethodPost {
		now := s.Clock()
		action := r.FormValue("action")
		status := group.MemberUnsubscribed
		switch action {
		case "resubscribe":
			status = group.MemberActive
		case "preferences":
			keep := map[group.Kind]bool{}
			for _, k := range r.Form["keep"] {
				keep[group.Kind(k)] = true
			}
			var muted []group.Kind
			for _, k := range group.Kinds {
				if !keep[k] {
					muted = append(muted, k)
				}
			}
			if len(muted) < len(group.Kinds) {
				status = group.MemberActive
			}
			if err := s.Store.SetMuted(r.Context(), member.ID, muted, now); err != nil {
				s.Log.Error("set preferences", "member", member.ID, "error", err)
				s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not save your preferences just now. Please try again in a minute.")
				return
			}
			member.Muted = muted
		}
		err := s.Store.SetMemberStatus(r.Context(), member.ID, status, now)
		if errors.Is(err, group.ErrSuppressed) { // suppressed since the page was read
			s.suppressed(w, member)
			return
		}
		if err != nil {
			s.Log.Error("set member status", "member", member.ID, "error", err)
			s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not update your subscription just now. Please try again in a minute.")
			return
		}
		s.Log.Info("member status changed", "member", member.ID, "status", status, "action", action, "one_click", r.FormValue("List-Unsubscribe") == "One-Click")
		member.Status = status
		v.Member, v.Active, v.Recorded, v.Message = member, status == group.MemberActive, true, action
	}
	v.Kinds = kindChoices(v.Member)
	s.render(w, http.StatusOK, "unsubscribe", v)
}

// suppressed answers a member's request to get email again when their address is
// suppressed (it bounced, or they marked an email as spam): nothing changes; the
// organizers can reactivate it.
func (s *Site) suppressed(w http.ResponseWriter, member group.Member) {
	s.Log.Info("suppressed member asked for email: refused", "member", member.ID)
	s.fail(w, http.StatusConflict, "We can't email this address",
		"Emails to this address bounced or were reported as spam, so we stopped sending to it. Only the organizers can start again: reply to an email from us, or ask them at the next meeting.")
}

type joinForm struct {
	Name, Email string
	Problem     string
}

// JoinLinkLife is how long a join confirmation link works; the pending sign-up
// lives as long (group.JoinLinkLife).
const JoinLinkLife = group.JoinLinkLife

// join is the public form to join the group: name and email. A POST records a
// confirmation email (sent from the outbox) with a signed link (double opt-in), at most one per address
// per hour; the page says the same whether or not the address is known, so the
// form tells nobody who is a member.
func (s *Site) join(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "Join " + s.GroupName}
	if r.Method != http.MethodPost {
		s.render(w, http.StatusOK, "join", v)
		return
	}
	v.Form = joinForm{Name: strings.Join(strings.Fields(r.FormValue("name")), " "), Email: strings.TrimSpace(r.FormValue("email"))}
	a, err := mail.ParseAddress(v.Form.Email)
	switch {
	case v.Form.Name == "" || utf8.RuneCountInString(v.Form.Name) > 100 || !utf8.ValidString(v.Form.Name) ||
		strings.IndexFunc(v.Form.Name, unicode.IsControl) >= 0:
		v.Form.Problem = "Please tell us your name (at most 100 characters)."
	case err != nil || a.Address != v.Form.Email || strings.ContainsAny(v.Form.Email, " \t\r\n<>\"") || len(v.Form.Email) > 254:
		v.Form.Problem = "Please give a plain email address, like ada@example.org."
	}
	if v.Form.Problem != "" {
		s.render(w, http.StatusBadRequest, "join", v)
		return
	}
	now := s.Clock()
	v.Sent = true // every answer from here on is the same page: nobody learns who is a member
	ok, err := s.Store.CountJoinRequest(r.Context(), clientIP(r), orDefault(s.JoinPerClientHour, DefaultJoinPerClientHour), now)
	if err != nil {
		s.Log.Error("count join request", "error", err)
		s.unavailable(w)
		return
	}
	if !ok {
		s.Log.Info("join request over the per-client limit: no email")
		s.render(w, http.StatusTooManyRequests, "join", v)
		return
	}
	member, send, err := s.Store.RequestJoin(r.Context(), v.Form.Email, v.Form.Name, now)
	if err != nil {
		s.Log.Error("request to join", "error", err)
		s.unavailable(w)
		return
	}
	if send {
		ok, err := s.Store.CountJoinEmail(r.Context(), orDefault(s.JoinPerHour, DefaultJoinPerHour), now)
		if err != nil {
			s.Log.Error("count join email", "error", err)
			s.unavailable(w)
			return
		}
		send = ok
		if !ok {
			s.Log.Warn("join confirmations over the hourly limit: no email", "member", member.ID)
		}
	}
	if send {
		// The confirmation (its link lives JoinLinkLife from now) goes out from the
		// outbox; the sweep reads the request again before it sends.
		if err := s.record(r.Context(), group.NewIntent(group.IntentJoinConfirm, "", member.ID, group.IntentTime(now), now)); err != nil {
			s.Log.Error("record join confirmation", "member", member.ID, "error", err)
			s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not send the confirmation email just now. Please try again in an hour.")
			return
		}
		s.Log.Info("join requested", "member", member.ID)
	} else {
		s.Log.Info("join request: no email (one within the hour, the address is suppressed, or the hourly limit)", "member", member.ID)
	}
	s.render(w, http.StatusOK, "join", v)
}

// The /join limits' defaults (config: AFTERPARTY_JOIN_PER_CLIENT_HOUR and
// AFTERPARTY_JOIN_PER_HOUR).
const (
	DefaultJoinPerClientHour = 10
	DefaultJoinPerHour       = 200
)

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// clientIP is who sent a request: behind the Lambda function URL, the source IP
// AWS puts in the request context (a client's X-Forwarded-For cannot change it);
// elsewhere (afterparty serve) the connection's address.
func clientIP(r *http.Request) string {
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.HTTP.SourceIP != "" {
		return rc.HTTP.SourceIP
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// confirmJoin is the page the confirmation email's link opens: GET shows a button
// (mail scanners fetch links), the POST makes the member active and records the
// welcome email (sent from the outbox) the first time.
func (s *Site) confirmJoin(w http.ResponseWriter, r *http.Request) {
	c, token, ok := s.claims(w, r, links.ActionJoin)
	if !ok {
		return
	}
	member, err := s.Store.JoinRequest(r.Context(), c.Member, s.Clock())
	if errors.Is(err, group.ErrNotFound) || errors.Is(err, group.ErrInvalid) {
		s.fail(w, http.StatusNotFound, "We don't know you (any more)", "This join request has expired. Please fill in the join form again.")
		return
	}
	if err != nil {
		s.Log.Error("read join request", "member", c.Member, "error", err)
		s.unavailable(w)
		return
	}
	v := view{Title: "Confirm: join " + s.GroupName, Token: token, Member: member, Active: member.Status == group.MemberActive,
		Suppressed: member.Status == group.MemberSuppressed}
	if r.Method == http.MethodPost {
		now := s.Clock()
		m, joined, err := s.Store.ConfirmJoin(r.Context(), member.ID, now)
		if errors.Is(err, group.ErrSuppressed) {
			s.suppressed(w, member)
			return
		}
		if errors.Is(err, group.ErrNotFound) {
			s.fail(w, http.StatusNotFound, "We don't know you (any more)", "Please fill in the join form again.")
			return
		}
		if err != nil {
			s.Log.Error("confirm join", "member", member.ID, "error", err)
			s.unavailable(w)
			return
		}
		if joined {
			if err := s.record(r.Context(), group.NewIntent(group.IntentWelcome, "", m.ID, group.IntentTime(now), now)); err != nil {
				s.Log.Error("record welcome", "member", m.ID, "error", err)
			}
		}
		s.Log.Info("join confirmed", "member", m.ID, "new", joined)
		v.Member, v.Active, v.Recorded, v.JoinedNow = m, true, true, joined
		v.Unsubscribe = s.unsubscribeURL(r, m)
	}
	s.render(w, http.StatusOK, "confirm", v)
}
