package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/setup"
)

// NoticeSweepEvery is how often `afterparty serve` sweeps the outbox when no page
// nudged it: locally there is no stream to wake a sweep, so this is the backstop
// (the outbox function's one-minute schedule on AWS).
const NoticeSweepEvery = 20 * time.Second

// sweepNotices sends the outbox's emails in-process until ctx ends: at once (what
// a server killed before it could send left in the outbox goes out as soon as one
// starts again), right after a page records one (the site's Nudge) and every
// NoticeSweepEvery.
func sweepNotices(ctx context.Context, a *setup.App) {
	nudged := make(chan struct{}, 1)
	nudged <- struct{}{}
	a.Site.Nudge = func() {
		select {
		case nudged <- struct{}{}:
		default: // a sweep is due already
		}
	}
	go func() {
		tick := time.NewTicker(NoticeSweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-nudged:
			case <-tick.C:
			}
			if rep, err := a.Runner.SendNotices(ctx); err != nil {
				a.Log.Error("outbox sweep", "error", err)
			} else if rep.Sent+rep.Dropped+rep.Done > 0 {
				a.Log.Info("outbox swept", "sent", rep.Sent, "dropped", rep.Dropped, "waiting", rep.Waiting)
			}
		}
	}()
}

// runOutbox sweeps the outbox once, as the outbox function does, and says what it did.
func runOutbox(cmd *cobra.Command, verbose bool) error {
	a, err := quietApp(cmd)
	if verbose {
		a, err = app(cmd)
	}
	if err != nil {
		return err
	}
	rep, err := a.Runner.SendNotices(cmd.Context())
	fmt.Fprintf(cmd.OutOrStdout(), "outbox: %d looked at, %d sent, %d sent before, %d failed, %d dropped (no longer true), %d waiting\n",
		rep.Seen, rep.Sent, rep.Done, rep.Failed, rep.Dropped, rep.Waiting)
	if rep.Stopped != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "stopped: %s\n", rep.Stopped)
	}
	return err
}
