// Command replies is the Lambda function behind the SES receipt rule of the reply
// domain: it reads each received message from the S3 bucket the rule stored it in
// and records calendar answers or forwards the message to the organizers; see
// shared/replies.
package main

import (
	"os"

	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	setup.Lambda(func(a *setup.App) any {
		h, err := a.Replies()
		if err != nil {
			a.Log.Error("cannot start: replies", "error", err)
			os.Exit(1)
		}
		return h.Handle
	})
}
