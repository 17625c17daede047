package setup

import (
	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/replies"
	"github.com/afterparty/afterparty/shared/web"
)

// The coordinating packages talk to storage through interfaces of their own, in the
// domain's types (shared/group); shared/dynamo's Store is the one implementation.
var (
	_ campaign.Ledger    = (*dynamo.Store)(nil)
	_ campaign.RateStore = (*dynamo.Store)(nil)
	_ cycle.Store        = (*dynamo.Store)(nil)
	_ web.Store          = (*dynamo.Store)(nil)
	_ web.MetStore       = (*dynamo.Store)(nil)
	_ replies.Store      = (*dynamo.Store)(nil)
)
