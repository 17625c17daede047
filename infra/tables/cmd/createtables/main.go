// Command createtables creates the tables of template.yaml in a DynamoDB endpoint,
// by default the local stack's: infra/stack.sh runs it after starting the emulators.
//
// Physical names come from the variables the functions read
// (AFTERPARTY_SCHEDULE_TABLE, AFTERPARTY_STATE_TABLE), the endpoint, region and
// credentials from the SDK's variables (AWS_ENDPOINT_URL_DYNAMODB, ...); unset ones
// take shared/config's local-stack defaults. Existing tables are left as they are.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/afterparty/afterparty/infra/tables"
	"github.com/afterparty/afterparty/shared/config"
)

func main() {
	template := flag.String("template", "template.yaml", "the SAM template defining the tables")
	flag.Parse()
	if err := run(*template, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "createtables:", err)
		os.Exit(1)
	}
}

func run(template string, getenv func(string) string) error {
	get := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		for _, vars := range [][]config.Var{config.Vars, config.LocalAWS} {
			for _, v := range vars {
				if v.Name == name {
					return v.Default
				}
			}
		}
		return ""
	}
	endpoint := get("AWS_ENDPOINT_URL_DYNAMODB")
	client := dynamodb.New(dynamodb.Options{
		Region:       get("AWS_REGION"),
		BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(
			get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), ""),
	})
	names := map[string]string{}
	for id, env := range tables.EnvNames {
		if names[id] = get(env); names[id] == "" {
			return fmt.Errorf("no name for table %s: set %s", id, env)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tables.Create(ctx, client, template, names); err != nil {
		return err
	}
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Printf("table %s ready as %s at %s\n", id, names[id], endpoint)
	}
	return nil
}
