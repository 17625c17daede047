package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// demoLines are what the first two demo members write about themselves on /met.
var demoLines = []string{"Ask me about sourdough and Kafka", "Happy to pair on compilers"}

// demoMet ends the demo: the first two members (Yes, and at the pub) list
// themselves on /met and tick each other through the real page, and the next
// scheduled run introduces them.
func demoMet(ctx context.Context, out io.Writer, a *setup.App, m group.Meeting, base string, at time.Time) {
	members := make([]group.Member, 2)
	for i := range members {
		members[i] = demoMembers[i]
		members[i].ID = group.MemberID(members[i].Email)
	}
	// Both list themselves first: only listed members can be ticked.
	for i, member := range members {
		link := cycle.MetLink(a.Runner.Links, m, member)
		status, err := postLink(ctx, base, link, url.Values{"action": {"list"}, "line": {demoLines[i]}})
		fmt.Fprintf(out, "  %s listed themselves on /met: HTTP %d %v\n", member.Name, status, errOrEmpty(err))
	}
	for i, member := range members {
		link := cycle.MetLink(a.Runner.Links, m, member)
		other := members[1-i]
		status, err := postLink(ctx, base, link, url.Values{"action": {"ticks"}, "tick": {other.ID}})
		fmt.Fprintf(out, "  %s ticked %s: HTTP %d %v\n", member.Name, other.ShortName(), status, errOrEmpty(err))
	}
	rep, err := a.Runner.Introduce(ctx, at.Add(time.Minute))
	if err != nil {
		fmt.Fprintf(out, "  introductions: %v\n", err)
	}
	for _, r := range rep.Meetings {
		if r.Result.Sent > 0 {
			fmt.Fprintf(out, "  %-11s %s: sent %d (one introduction, to both)\n", "introduction", r.MeetingID, r.Result.Sent)
		}
	}
}
