package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/spf13/cobra"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/setup"
)

// target is where the CLI talks to: the local stack (the default), or a deployed
// stack named with --stack (its tables, URL, secret and settings read from
// CloudFormation), with --region and --profile for the AWS SDK.
type target struct {
	stack, region, profile string
}

var where target

func addTargetFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&where.stack, "stack", "", "a deployed CloudFormation stack: read table names, URL and settings from its outputs and parameters (default: the local stack)")
	f.StringVar(&where.region, "region", "", "AWS region of --stack (default: the SDK's own, e.g. AWS_REGION)")
	f.StringVar(&where.profile, "profile", "", "AWS profile of --stack (default: the SDK's own, e.g. AWS_PROFILE)")
}

// stackParams maps the template's parameters and outputs to the settings they feed.
var (
	stackOutputs = map[string]string{
		"ScheduleTableName": "AFTERPARTY_SCHEDULE_TABLE",
		"StateTableName":    "AFTERPARTY_STATE_TABLE",
		"WebUrl":            "AFTERPARTY_BASE_URL",
	}
	stackParams = map[string]string{
		"GroupName":       "AFTERPARTY_GROUP_NAME",
		"FromAddress":     "AFTERPARTY_FROM",
		"OrganizerEmails": "AFTERPARTY_ORGANIZERS",
		"TimeZone":        "AFTERPARTY_TIME_ZONE",
		"InvitationLead":  "AFTERPARTY_INVITATION_LEAD",
		"ReminderLead":    "AFTERPARTY_REMINDER_LEAD",
		"TeaserLead":      "AFTERPARTY_TEASER_LEAD",
		"PubMaxDelay":     "AFTERPARTY_PUB_MAX_DELAY",
		"ConnectionsAt":   "AFTERPARTY_CONNECTIONS_AT",
	}
	stackResources = map[string]string{
		"LinkSecret":       "AFTERPARTY_LINK_SECRET_ARN",
		"ConfigurationSet": "AFTERPARTY_CONFIGURATION_SET",
	}
)

func (t target) awsOptions() []func(*awsconfig.LoadOptions) error {
	var opts []func(*awsconfig.LoadOptions) error
	if t.region != "" {
		opts = append(opts, awsconfig.WithRegion(t.region))
	}
	if t.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(t.profile))
	}
	return opts
}

// stackApp builds the app against the deployed stack: the environment overrides
// nothing the stack says, except variables the stack does not set.
func (t target) app(cmd *cobra.Command, log *slog.Logger) (*setup.App, error) {
	ctx := cmd.Context()
	awsCfg, _, err := config.AWS(ctx, nil, false, t.awsOptions()...)
	if err != nil {
		return nil, err
	}
	cf := cloudformation.NewFromConfig(awsCfg)
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &t.stack})
	if err != nil {
		return nil, fmt.Errorf("read stack %s: %w", t.stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("no stack %s in %s", t.stack, awsCfg.Region)
	}
	vars := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		if name, ok := stackOutputs[aws.ToString(o.OutputKey)]; ok {
			vars[name] = strings.TrimRight(aws.ToString(o.OutputValue), "/")
		}
	}
	for _, p := range out.Stacks[0].Parameters {
		if name, ok := stackParams[aws.ToString(p.ParameterKey)]; ok {
			vars[name] = aws.ToString(p.ParameterValue)
		}
	}
	for logical, name := range stackResources {
		res, err := cf.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: &t.stack, LogicalResourceId: aws.String(logical)})
		if err == nil && res.StackResourceDetail != nil {
			vars[name] = aws.ToString(res.StackResourceDetail.PhysicalResourceId)
		}
	}
	for _, need := range []string{"AFTERPARTY_SCHEDULE_TABLE", "AFTERPARTY_STATE_TABLE"} {
		if vars[need] == "" {
			return nil, fmt.Errorf("stack %s has no output for %s: is it an afterparty stack?", t.stack, need)
		}
	}
	getenv := func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return setup.FromConfig(ctx, cfg, awsCfg, config.Endpoints{}, log)
}
