// Command pub is the scheduled Lambda function that sends what follows a meeting:
// the after-party pub email at its end, the connections email ("who did you
// meet?") the morning after, and the introductions members asked for on /met; see
// shared/cycle.
package main

import (
	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	setup.Lambda(func(a *setup.App) any { return a.Runner.AfterpartyHandler() })
}
