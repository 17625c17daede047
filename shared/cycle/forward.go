package cycle

import (
	"context"

	"github.com/afterparty/afterparty/shared/campaign"
	"github.com/afterparty/afterparty/shared/group"
)

// ForwardKind names the ledger of one received message forwarded to the
// organizers: SEND#<meeting>#forward-<key>, so the forward goes once to each.
func ForwardKind(key string) string { return "forward-" + key }

// Forward sends a received message on to every organizer address through the send
// ledger (once each, however often it is called for the same key). meetingID is the
// meeting it is about, or "inbound" when it is about none.
func (r *Runner) Forward(ctx context.Context, meetingID, key string, render func(to group.Member) ([]byte, error)) (campaign.Result, error) {
	orgs := r.Organizers()
	return r.engine().Run(ctx, campaign.Job{
		MeetingID: meetingID,
		Kind:      ForwardKind(key),
		From:      r.Config.From,
		Page: func(context.Context, string) (campaign.Batch, error) {
			return campaign.Batch{Members: orgs}, nil
		},
		Render: func(_ context.Context, to group.Member) ([]byte, error) { return render(to) },
	})
}
