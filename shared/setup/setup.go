// Package setup wires afterparty's parts together from its configuration: the one
// place every function main and the CLI build their clients, signer, renderer,
// runner and site from.
package setup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/web"
)

// App is everything built from one configuration.
type App struct {
	Config config.Config
	AWS    aws.Config
	Store  *dynamo.Store
	SES    *sesv2.Client
	Signer *links.Signer
	Runner *cycle.Runner
	Site   *web.Site
	Log    *slog.Logger
}

// Logger is the JSON logger every program uses: member ids, never addresses.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// New builds the app. local says whether unset AWS endpoints default to the local
// stack (the CLI) or to AWS (the Lambda functions).
func New(ctx context.Context, getenv config.Getenv, local bool, log *slog.Logger) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if !local {
		if err := deployedSecret(cfg); err != nil {
			return nil, err
		}
	}
	awsCfg, endpoints, err := config.AWS(ctx, getenv, local)
	if err != nil {
		return nil, err
	}
	return FromConfig(ctx, cfg, awsCfg, endpoints, log)
}

// deployedSecret refuses what a function running in AWS must not sign links with:
// no secret (an unset AFTERPARTY_LINK_SECRET falls back to the development
// default) or the development default itself, which anyone can read in the source
// and forge every member's links with.
func deployedSecret(cfg config.Config) error {
	if cfg.LinkSecretARN != "" {
		return nil // read from Secrets Manager; Signer checks its value
	}
	if len(cfg.LinkSecret) == 0 || string(cfg.LinkSecret) == config.DevLinkSecret {
		return fmt.Errorf("no link-signing secret: AFTERPARTY_LINK_SECRET_ARN is unset and AFTERPARTY_LINK_SECRET is unset or the local development default %q; "+
			"set AFTERPARTY_LINK_SECRET_ARN (template.yaml does) or AFTERPARTY_LINK_SECRET to a secret of your own", config.DevLinkSecret)
	}
	return nil
}

// FromConfig builds the app from a loaded configuration.
func FromConfig(ctx context.Context, cfg config.Config, awsCfg aws.Config, ep config.Endpoints, log *slog.Logger) (*App, error) {
	var sm SecretsManager
	if cfg.LinkSecretARN != "" {
		sm = secretsmanager.NewFromConfig(awsCfg)
	}
	return fromConfig(ctx, cfg, awsCfg, ep, log, sm, time.Now)
}

// fromConfig is FromConfig with the Secrets Manager client (nil without a secret
// ARN) and the clock given.
func fromConfig(ctx context.Context, cfg config.Config, awsCfg aws.Config, ep config.Endpoints, log *slog.Logger, sm SecretsManager, clock func() time.Time) (*App, error) {
	if log == nil {
		log = Logger()
	}
	var keys *linkKeys
	var signer *links.Signer
	var err error
	if cfg.LinkSecretARN != "" {
		if keys, err = newLinkKeys(ctx, sm, cfg.LinkSecretARN, clock); err != nil {
			return nil, err
		}
		signer = keys.signer
	} else if signer, err = links.NewSigner("local", cfg.LinkSecret); err != nil {
		return nil, err
	}
	renderer, err := emails.NewRenderer()
	if err != nil {
		return nil, fmt.Errorf("load email templates: %w", err)
	}
	notices, err := emails.NewNoticeRenderer()
	if err != nil {
		return nil, fmt.Errorf("load notice templates: %w", err)
	}
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if ep.DynamoDB != "" {
			o.BaseEndpoint = &ep.DynamoDB
		}
	}), cfg.ScheduleTable, cfg.StateTable)
	store.Log = log
	ses := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		if ep.SESv2 != "" {
			o.BaseEndpoint = &ep.SESv2
		}
	})
	b := links.Builder{BaseURL: cfg.BaseURL, Signer: signer}
	a := &App{
		Config: cfg, AWS: awsCfg, Store: store, SES: ses, Signer: signer, Log: log,
		Runner: &cycle.Runner{Store: store, SES: sender(ses, cfg.ConfigurationSet), Renderer: renderer, Notices: notices, Links: b, Config: cfg, Clock: clock, Log: log},
	}
	if keys != nil {
		// A warm function signs with the keys of the secret as it is now: every run
		// reads it again (at most once a minute), so links it sends after a rotation
		// (or two) are signed with the key the web function accepts.
		a.Runner.ReloadKeys = func(ctx context.Context) error {
			_, err := keys.Reload(ctx)
			return err
		}
	}
	cal, err := newCalendar(a.Runner)
	if err != nil {
		return nil, err
	}
	if a.Site, err = newSite(cfg, store, signer, keys, cal, clock, log); err != nil {
		return nil, err
	}
	a.Runner.Repair = func(ctx context.Context, m group.Meeting) error {
		_, err := a.Site.Repair(ctx, m)
		return err
	}
	return a, nil
}

// Signer builds the link signer: in AWS from the Secrets Manager secret (its current
// version signs; its previous version is still accepted until the longest-lived
// link it can have signed has expired, so a rotation never breaks a link already
// sent), locally from AFTERPARTY_LINK_SECRET.
func Signer(ctx context.Context, cfg config.Config, awsCfg aws.Config) (*links.Signer, error) {
	if cfg.LinkSecretARN == "" {
		return links.NewSigner("local", cfg.LinkSecret)
	}
	return signerFrom(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.LinkSecretARN)
}

func keyID(version *string) string {
	v := aws.ToString(version)
	if len(v) > 8 {
		v = v[:8]
	}
	if v == "" {
		v = "k0"
	}
	return v
}
