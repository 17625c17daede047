package campaign

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func httpErr(code int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
		Err:      errors.New("status"),
	}}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errorClass
	}{
		{"message rejected", &types.MessageRejected{}, permanent},
		{"bad request", &types.BadRequestException{}, permanent},
		{"sending paused", &types.SendingPausedException{}, paused},
		{"account suspended", &types.AccountSuspendedException{}, paused},
		{"MAIL FROM domain not verified", &types.MailFromDomainNotVerifiedException{}, paused},
		{"identity not verified", &types.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region US-EAST-1: a@b.example")}, unverified},
		{"throttled 429", httpErr(429), transient},
		{"service unavailable", httpErr(503), transient},
		{"untyped 400 from the emulator", httpErr(400), permanent},
		{"access denied", httpErr(403), refused},
		{"network error", errors.New("connection reset by peer"), transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecipientsOnly(t *testing.T) {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Gophers <organizers@afterparty.example>"),
		Destination:      &types.Destination{ToAddresses: []string{"Ada <Ada@Members.example>"}},
	}
	msg := func(ids string) error {
		return &types.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region US-EAST-1: " + ids)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the recipient (sandbox)", msg("ada@members.example"), true},
		{"the sender", msg("organizers@afterparty.example"), false},
		{"sender and recipient", msg("organizers@afterparty.example, ada@members.example"), false},
		{"the sender with its name", msg("Gophers <organizers@afterparty.example>, organizers@afterparty.example"), false},
		{"a list cut short", msg("ada@members.example, ..."), false},
		{"no list", &types.MessageRejected{Message: aws.String("Email address is not verified.")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recipientsOnly(tt.err, in); got != tt.want {
				t.Errorf("recipientsOnly = %v, want %v", got, tt.want)
			}
		})
	}
}
