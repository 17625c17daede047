package campaign

import (
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
