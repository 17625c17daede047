// Command digest is the scheduled Lambda function that sends the organizers'
// headcount digest 1 day and 3 hours before each meeting; see shared/cycle.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	log := setup.Logger()
	app, err := setup.New(context.Background(), nil, false, log)
	if err != nil {
		log.Error("cannot start: check the function's environment", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.Runner.DigestHandler())
}
