// Command invitations is the scheduled Lambda function that sends the meeting cycle's
// invitations; see shared/cycle.
package main

import (
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	setup.Lambda(func(a *setup.App) any { return a.Runner.Handler(group.Invitation) })
}
