// Command web is the Lambda function behind the public function URL: the member
// pages of shared/web through aws-lambda-go-api-proxy's payload v2 adapter.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	log := setup.Logger()
	app, err := setup.New(context.Background(), nil, false, log)
	if err != nil {
		log.Error("cannot start: check the function's environment", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(app.Site.Handler()).ProxyWithContext)
}
