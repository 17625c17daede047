package main

import (
	"context"
	"fmt"
	"io"

	"github.com/afterparty/afterparty/shared/dynamo"
)

// printConnections adds the /met figures to `afterparty rsvps`: counts only, never
// who listed themselves, ticked or was introduced.
func printConnections(ctx context.Context, out io.Writer, store *dynamo.Store, meetingID string) error {
	c, err := store.ConnectionCounts(ctx, meetingID)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "stay in touch (/met): listed %d, ticks %d, introductions %d\n", c.Listed, c.Ticks, c.Introductions)
	return err
}
