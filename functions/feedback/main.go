// Command feedback is the Lambda function that receives SES bounce and complaint
// events (the configuration set's SNS event destination) and suppresses members;
// see shared/feedback. It builds only the store, not setup.App: its policy allows
// nothing but UpdateItem on the state table (no secret, no SES).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/feedback"
	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	log := setup.Logger()
	cfg, err := config.Load(nil)
	if err != nil {
		log.Error("cannot start: check the function's environment", "error", err)
		os.Exit(1)
	}
	awsCfg, ep, err := config.AWS(context.Background(), nil, false)
	if err != nil {
		log.Error("cannot start: AWS configuration", "error", err)
		os.Exit(1)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if ep.DynamoDB != "" {
			o.BaseEndpoint = &ep.DynamoDB
		}
	})
	h := &feedback.Handler{Store: dynamo.New(db, cfg.ScheduleTable, cfg.StateTable), Clock: time.Now, Log: log}
	lambda.Start(h.Handle)
}
