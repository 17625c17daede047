// Command echo is a tiny Lambda function for infra/lambdatest's own tests: it
// answers {"echo": <event.echo>, "env": {NAME: value for NAME in event.env}}, or
// fails with event.fail.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Echo json.RawMessage `json:"echo"`
	Env  []string        `json:"env"`
	Fail string          `json:"fail"`
}

type answer struct {
	Echo json.RawMessage   `json:"echo"`
	Env  map[string]string `json:"env"`
}

func handle(_ context.Context, e event) (answer, error) {
	if e.Fail != "" {
		return answer{}, errors.New(e.Fail)
	}
	a := answer{Echo: e.Echo, Env: map[string]string{}}
	for _, name := range e.Env {
		a.Env[name] = os.Getenv(name)
	}
	return a, nil
}

func main() { lambda.Start(handle) }
