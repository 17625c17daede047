package setup

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	gomail "github.com/emersion/go-message/mail"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/web"
)

// newSite builds the member pages: the store, the signer, the calendar, and the SES
// client and notice templates for the emails the pages send themselves (waitlist
// promotion, join confirmation, welcome).
func newSite(cfg config.Config, store *dynamo.Store, ses *sesv2.Client, signer *links.Signer, keys *linkKeys, cal web.Calendar, clock func() time.Time, log *slog.Logger) (*web.Site, error) {
	notices, err := emails.NewNoticeRenderer()
	if err != nil {
		return nil, fmt.Errorf("load notice templates: %w", err)
	}
	from, err := gomail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("AFTERPARTY_FROM: %w", err)
	}
	site := &web.Site{
		Store: store, Signer: signer, Calendar: cal, GroupName: cfg.GroupName, TimeZone: cfg.TimeZone,
		Clock: clock, Log: log,
		SES: sender(ses, cfg.ConfigurationSet), Notices: notices, From: *from, Organizers: cfg.Organizers, BaseURL: cfg.BaseURL,
		JoinPerClientHour: cfg.JoinPerClientHour, JoinPerHour: cfg.JoinPerHour,
	}
	if keys != nil {
		// A warm function that meets a link signed with a key it has not seen (the
		// secret was rotated since it started) reads the secret again. The signer
		// is shared with the runner: both move on to the keys read last.
		site.Keys = keys.Reload
	}
	return site, nil
}

// MaxLinkLife is the longest a signed link lives from when it is signed: the
// unsubscribe link's. A key that stopped signing at a rotation is retired this long
// after it.
const MaxLinkLife = cycle.UnsubscribeLinkLife

// acceptPrevious lets the signer verify links signed with the key before the last
// rotation until MaxLinkLife after that rotation (the current version's creation).
func acceptPrevious(s *links.Signer, kid string, secret []byte, rotated *time.Time) {
	if rotated == nil || rotated.IsZero() {
		s.Accept(kid, secret) // no rotation time known: keep accepting it
		return
	}
	s.AcceptUntil(kid, secret, rotated.Add(MaxLinkLife))
}
