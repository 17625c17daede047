// Command web is the Lambda function behind the public function URL: the member
// pages of shared/web through aws-lambda-go-api-proxy's payload v2 adapter.
package main

import (
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/afterparty/afterparty/shared/setup"
)

func main() {
	setup.Lambda(func(a *setup.App) any { return httpadapter.NewV2(a.Site.Handler()).ProxyWithContext })
}
