// Command digest is the scheduled Lambda function that sends the organizers'
// headcount digest 1 day and 3 hours before each meeting; see shared/cycle.
package main

import "github.com/afterparty/afterparty/shared/setup"

func main() {
	setup.Lambda(func(a *setup.App) any { return a.Runner.DigestHandler() })
}
