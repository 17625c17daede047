package setup

import (
	"log/slog"
	"time"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/web"
)

// newSite builds the member pages: the store, the signer and the calendar. The
// emails the pages make due (waitlist promotion, join confirmation, welcome) are
// recorded in the outbox and sent by the runner's SendNotices, never by a page.
func newSite(cfg config.Config, store *dynamo.Store, signer *links.Signer, keys *linkKeys, cal web.Calendar, clock func() time.Time, log *slog.Logger) (*web.Site, error) {
	site := &web.Site{
		Store: store, Signer: signer, Calendar: cal, GroupName: cfg.GroupName, TimeZone: cfg.TimeZone,
		Clock: clock, Log: log,
		BaseURL:           cfg.BaseURL,
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
