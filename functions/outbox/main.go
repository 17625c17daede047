// Command outbox is the Lambda function that sends the emails members' actions
// made due (a place opened up, a calendar Yes on the waitlist, the join
// confirmation, the welcome): the pages record them in the state table's outbox,
// and this function sweeps it, woken by the table's stream within seconds of a new
// intent and every minute by its schedule as the backstop; see shared/cycle
// (SendNotices).
package main

import "github.com/afterparty/afterparty/shared/setup"

func main() {
	setup.Lambda(func(a *setup.App) any { return a.Runner.NoticesHandler() })
}
