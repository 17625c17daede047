// Package config reads afterparty's settings from AFTERPARTY_* environment variables,
// with defaults that fit the local stack, and loads the AWS SDK configuration once.
package config

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/afterparty/afterparty/shared/group"
)

// Var documents one environment variable: the README's table and `afterparty env`
// are generated from this list, so the docs cannot drift from the code.
type Var struct {
	Name, Default, Meaning string
}

// Vars is every AFTERPARTY_* variable, with its local-stack default.
var Vars = []Var{
	{"AFTERPARTY_SCHEDULE_TABLE", "afterparty-schedule", "DynamoDB table holding the schedule (key meeting_id)"},
	{"AFTERPARTY_STATE_TABLE", "afterparty-state", "DynamoDB table holding members, RSVPs and the send ledger"},
	{"AFTERPARTY_GROUP_NAME", "Rose City Gophers", "the group's name, shown in every email"},
	{"AFTERPARTY_FROM", "Rose City Gophers <organizers@afterparty.example>", "From address of every email (an SES-verified identity)"},
	{"AFTERPARTY_ORGANIZERS", "organizers@afterparty.example", "comma-separated organizer addresses (Reply-To, digests, schedule errors)"},
	{"AFTERPARTY_TIME_ZONE", "America/Los_Angeles", "the group's IANA time zone; a meeting's time_zone overrides it"},
	{"AFTERPARTY_BASE_URL", "http://127.0.0.1:8080", "base of every link in an email: the web function's URL"},
	{"AFTERPARTY_LINK_SECRET", DevLinkSecret, "key that signs member links (in AWS: read from AFTERPARTY_LINK_SECRET_ARN instead); a Lambda function refuses to start with this default"},
	{"AFTERPARTY_LINK_SECRET_ARN", "", "Secrets Manager secret holding the link-signing key (set by template.yaml)"},
	{"AFTERPARTY_INVITATION_LEAD", "14d", "how long before the start invitations go out"},
	{"AFTERPARTY_REMINDER_LEAD", "2d", "how long before the start the reminder goes out"},
	{"AFTERPARTY_TEASER_LEAD", "1d", "how long before the start the icebreaker teaser goes out"},
	{"AFTERPARTY_PUB_MAX_DELAY", "3h", "after the end, how long the pub email may still go out"},
	{"AFTERPARTY_CONNECTIONS_AT", "10:00", "local time (HH:MM) on the day after a meeting when the connections email (\"who did you meet?\") goes out"},
	{"AFTERPARTY_MAX_SEND_RATE", "0", "emails per second at most (0: SES's own MaxSendRate)"},
	{"AFTERPARTY_CONFIGURATION_SET", "", "SES configuration set every email is sent with; its bounce and complaint events feed the feedback function (set by template.yaml)"},
	{"AFTERPARTY_REPLY_DOMAIN", "", "domain SES receives calendar replies on (rsvp+TOKEN@domain is every invitation's ORGANIZER); empty: invitations ask for answers by link only (RSVP=FALSE)"},
	{"AFTERPARTY_INBOUND_BUCKET", "", "S3 bucket where the SES receipt rule stores mail received on the reply domain (set by template.yaml)"},
	{"AFTERPARTY_INBOUND_PREFIX", "inbound/", "key prefix of the received mail in AFTERPARTY_INBOUND_BUCKET"},
	{"AFTERPARTY_CLAIM_LEASE", "2m", "how long a send claim lives: after a crash mid-send, the member is retried this much later"},
	{"AFTERPARTY_JOIN_PER_CLIENT_HOUR", "10", "/join requests one client (source IP) may make per clock hour; more get the same page with HTTP 429 and no email"},
	{"AFTERPARTY_JOIN_PER_HOUR", "200", "join confirmation emails the /join form may send per clock hour, all clients together"},
}

// DevLinkSecret is AFTERPARTY_LINK_SECRET's default: good for the local stack only.
// Everyone can read it here, so a link signed with it proves nothing; a Lambda
// function refuses to start with it (shared/setup).
const DevLinkSecret = "local-development-secret-change-me"

// LocalAWS are the AWS variables that point the SDK at the local stack.
var LocalAWS = []Var{
	{"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000", "DynamoDB endpoint (the SDK's standard variable)"},
	{"AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:8005", "SES v2 endpoint (the SDK's standard variable)"},
	{"AWS_REGION", "us-east-1", "AWS region"},
	{"AWS_ACCESS_KEY_ID", "local", "any value works against the emulators"},
	{"AWS_SECRET_ACCESS_KEY", "local", "any value works against the emulators"},
}

// LocalPorts are the ports infra/stack.sh starts the emulators on (its own
// variables); the local stack's endpoint defaults (Local) follow them.
var LocalPorts = []Var{
	{"AFTERPARTY_LOCAL_DYNAMODB_PORT", "8000", "port of the local DynamoDB emulator (infra/stack.sh); moves the local default of AWS_ENDPOINT_URL_DYNAMODB"},
	{"AFTERPARTY_LOCAL_SES_PORT", "8005", "port of the local SES emulator (infra/stack.sh); moves the local default of AWS_ENDPOINT_URL_SESV2"},
}

// Local is LocalAWS with the endpoints on the ports that getenv gives in
// LocalPorts, the way infra/stack.sh reads them.
func Local(getenv Getenv) ([]Var, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	portOf := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": LocalPorts[0].Name, "AWS_ENDPOINT_URL_SESV2": LocalPorts[1].Name}
	out := append([]Var{}, LocalAWS...)
	for i, v := range out {
		name, ok := portOf[v.Name]
		if !ok {
			continue
		}
		p, ok := getenv(name)
		if !ok || p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s=%q is not a port number (1 to 65535)", name, p)
		}
		out[i].Default = "http://127.0.0.1:" + strconv.Itoa(n)
	}
	return out, nil
}

// Config is every setting a function or the CLI needs.
type Config struct {
	ScheduleTable string
	StateTable    string
	GroupName     string
	From          string // "Name <addr>"
	Organizers    []string
	TimeZone      string
	BaseURL       string
	LinkSecret    []byte
	LinkSecretARN string
	Leads         group.LeadTimes
	MaxSendRate   float64
	// ConfigurationSet is the SES configuration set every email is sent with ("" none).
	ConfigurationSet string
	ClaimLease       time.Duration
	// ReplyDomain receives calendar replies and members' emails ("": none).
	ReplyDomain string
	// InboundBucket and InboundPrefix: where received mail is stored.
	InboundBucket, InboundPrefix string
	// JoinPerClientHour and JoinPerHour limit the /join form (shared/web).
	JoinPerClientHour, JoinPerHour int
}

// Getenv reads a variable; tests pass a map's lookup instead of os.LookupEnv.
type Getenv func(string) (string, bool)

// Load reads the configuration, failing with a message naming the variable at fault.
func Load(getenv Getenv) (Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	get := func(name string) string {
		if v, ok := getenv(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	c := Config{
		ScheduleTable:    get("AFTERPARTY_SCHEDULE_TABLE"),
		StateTable:       get("AFTERPARTY_STATE_TABLE"),
		GroupName:        get("AFTERPARTY_GROUP_NAME"),
		From:             get("AFTERPARTY_FROM"),
		TimeZone:         get("AFTERPARTY_TIME_ZONE"),
		BaseURL:          strings.TrimRight(get("AFTERPARTY_BASE_URL"), "/"),
		LinkSecretARN:    get("AFTERPARTY_LINK_SECRET_ARN"),
		ConfigurationSet: get("AFTERPARTY_CONFIGURATION_SET"),
		ReplyDomain:      strings.ToLower(get("AFTERPARTY_REPLY_DOMAIN")),
		InboundBucket:    get("AFTERPARTY_INBOUND_BUCKET"),
		InboundPrefix:    get("AFTERPARTY_INBOUND_PREFIX"),
	}
	if c.ReplyDomain != "" {
		if _, err := mail.ParseAddress("rsvp@" + c.ReplyDomain); err != nil || strings.ContainsAny(c.ReplyDomain, "@ ") {
			return c, fmt.Errorf("AFTERPARTY_REPLY_DOMAIN %q is not a domain name", c.ReplyDomain)
		}
	}
	if c.LinkSecretARN == "" {
		c.LinkSecret = []byte(get("AFTERPARTY_LINK_SECRET"))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return c, fmt.Errorf("AFTERPARTY_FROM %q is not an email address: %v", c.From, err)
	}
	for _, a := range strings.Split(get("AFTERPARTY_ORGANIZERS"), ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, err := mail.ParseAddress(a); err != nil {
			return c, fmt.Errorf("AFTERPARTY_ORGANIZERS: %q is not an email address", a)
		}
		c.Organizers = append(c.Organizers, a)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return c, fmt.Errorf("AFTERPARTY_TIME_ZONE %q is not an IANA time zone", c.TimeZone)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("AFTERPARTY_BASE_URL %q must be an http(s) URL", c.BaseURL)
	}
	var err error
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"AFTERPARTY_INVITATION_LEAD", &c.Leads.Invitation},
		{"AFTERPARTY_REMINDER_LEAD", &c.Leads.Reminder},
		{"AFTERPARTY_TEASER_LEAD", &c.Leads.Teaser},
		{"AFTERPARTY_PUB_MAX_DELAY", &c.Leads.PubMaxDelay},
	} {
		if *d.dst, err = ParseLead(get(d.name)); err != nil {
			return c, fmt.Errorf("%s: %v", d.name, err)
		}
	}
	if c.Leads.ConnectionsAt, err = ParseClock(get("AFTERPARTY_CONNECTIONS_AT")); err != nil {
		return c, fmt.Errorf("AFTERPARTY_CONNECTIONS_AT: %v", err)
	}
	if c.ClaimLease, err = time.ParseDuration(get("AFTERPARTY_CLAIM_LEASE")); err != nil || c.ClaimLease <= 0 {
		return c, fmt.Errorf("AFTERPARTY_CLAIM_LEASE %q must be a positive duration such as 2m or 30s", get("AFTERPARTY_CLAIM_LEASE"))
	}
	if c.MaxSendRate, err = strconv.ParseFloat(get("AFTERPARTY_MAX_SEND_RATE"), 64); err != nil || c.MaxSendRate < 0 {
		return c, fmt.Errorf("AFTERPARTY_MAX_SEND_RATE %q must be a number of emails per second, 0 or more", get("AFTERPARTY_MAX_SEND_RATE"))
	}
	for _, l := range []struct {
		name string
		dst  *int
	}{
		{"AFTERPARTY_JOIN_PER_CLIENT_HOUR", &c.JoinPerClientHour},
		{"AFTERPARTY_JOIN_PER_HOUR", &c.JoinPerHour},
	} {
		if *l.dst, err = strconv.Atoi(get(l.name)); err != nil || *l.dst < 1 {
			return c, fmt.Errorf("%s %q must be a whole number, 1 or more", l.name, get(l.name))
		}
	}
	return c, nil
}

// ParseLead reads a lead time: "14d", "36h", "90m" or any Go duration.
func ParseLead(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a lead time (e.g. 14d, 36h, 90m)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a lead time (e.g. 14d, 36h, 90m)", s)
	}
	return d, nil
}

// ParseClock reads a time of day "HH:MM" (00:00 to 23:59) as the time since midnight.
func ParseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, e.g. 10:00)", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Endpoints are where the DynamoDB and SES clients connect; empty means the SDK's
// own choice (its AWS_ENDPOINT_URL_* variables, else AWS).
type Endpoints struct {
	DynamoDB string
	SESv2    string
}

// AWS loads the SDK configuration once. With local set (the CLI with no deployed
// stack named), endpoints and credentials not given in the environment default to
// the local stack, so `afterparty` works against `make stack` with no setup.
func AWS(ctx context.Context, getenv Getenv, local bool, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, Endpoints, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	var ep Endpoints
	if local {
		defaults, err := Local(getenv)
		if err != nil {
			return aws.Config{}, ep, err
		}
		pick := func(name string) string {
			if v, ok := getenv(name); ok && v != "" {
				return v
			}
			for _, v := range defaults {
				if v.Name == name {
					return v.Default
				}
			}
			return ""
		}
		ep = Endpoints{DynamoDB: pick("AWS_ENDPOINT_URL_DYNAMODB"), SESv2: pick("AWS_ENDPOINT_URL_SESV2")}
		if _, ok := getenv("AWS_REGION"); !ok {
			opts = append(opts, awsconfig.WithRegion(pick("AWS_REGION")))
		}
		_, hasKey := getenv("AWS_ACCESS_KEY_ID")
		_, hasProfile := getenv("AWS_PROFILE")
		if !hasKey && !hasProfile {
			opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	opts = append([]func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(SDKLogger())}, opts...)
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, ep, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, ep, nil
}
