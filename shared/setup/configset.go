package setup

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/afterparty/afterparty/shared/campaign"
)

// withConfigurationSet sends every email through the SES configuration set whose
// event destination reports bounces and complaints to the feedback function, so
// no sending path (invitations, updates, organizer email) can forget it.
type withConfigurationSet struct {
	campaign.SES
	name string
}

func (s withConfigurationSet) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	if in.ConfigurationSetName == nil && s.name != "" {
		cp := *in
		cp.ConfigurationSetName = &s.name
		in = &cp
	}
	return s.SES.SendEmail(ctx, in, opts...)
}

// sender is the SES client the runner sends with.
func sender(ses *sesv2.Client, configurationSet string) campaign.SES {
	if configurationSet == "" {
		return ses
	}
	return withConfigurationSet{SES: ses, name: configurationSet}
}
