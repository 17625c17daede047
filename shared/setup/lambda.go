package setup

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// Lambda builds the app from the function's environment (failing fast, with a
// log line naming what is wrong) and starts the Lambda loop with the handler that
// handlerOf picks from it. Every function's main is one call to it.
func Lambda[H any](handlerOf func(*App) H) {
	log := Logger()
	app, err := New(context.Background(), nil, false, log)
	if err != nil {
		log.Error("cannot start: check the function's environment", "error", err)
		os.Exit(1)
	}
	lambda.Start(handlerOf(app))
}
