// Command pub is the scheduled Lambda function that sends the meeting cycle's
// pub; see shared/cycle.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	log := setup.Logger()
	app, err := setup.New(context.Background(), nil, false, log)
	if err != nil {
		log.Error("cannot start: check the function's environment", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.Runner.Handler(group.Pub))
}
