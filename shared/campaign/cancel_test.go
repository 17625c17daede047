package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/afterparty/afterparty/shared/dynamo"
)

// pausingSES is an SES endpoint whose account goes paused mid-campaign: the first
// SendEmail waits until the other workers' sends are in flight and is answered
// SendingPausedException at once; every other send gets the same answer's headers
// at once and its body errorBodyDelay later, so the run's workers are cancelled
// while they read it.
func pausingSES(t *testing.T, inFlight int) *httptest.Server {
	t.Helper()
	const errorBodyDelay = 300 * time.Millisecond
	var n atomic.Int64
	arrived := make(chan struct{}, 64)
	paused := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "SendingPausedException")
		w.WriteHeader(http.StatusBadRequest)
	}
	const body = `{"message":"Sending is paused for this account."}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v2/email/account":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"SendingEnabled":true,"ProductionAccessEnabled":true,"EnforcementStatus":"HEALTHY",`+
				`"SendQuota":{"Max24HourSend":1000000,"MaxSendRate":1000,"SentLast24Hours":0}}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails":
			if n.Add(1) == 1 {
				for range inFlight {
					select {
					case <-arrived:
					case <-time.After(2 * time.Second):
					}
				}
				paused(w)
				io.WriteString(w, body)
				return
			}
			arrived <- struct{}{}
			paused(w)
			w.(http.Flusher).Flush()
			select {
			case <-time.After(errorBodyDelay):
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sesAt(url string) *sesv2.Client {
	return sesv2.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
	}, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(url) })
}

// TestPausedWhileOthersReadTheirAnswer: when SES says sending is paused, the run
// cancels its other workers; an answer one of them was still reading ends in a
// cancelled read. That is never the member's fault: their claim is released and
// nobody is marked failed, so a later run sends to every one of them.
func TestPausedWhileOthersReadTheirAnswer(t *testing.T) {
	const workers = 8
	for try := range 3 {
		t.Run(fmt.Sprint("try ", try+1), func(t *testing.T) {
			l := &memLedger{records: map[string]dynamo.SendRecord{}}
			e := engine(l, nil)
			e.SES, e.Workers = sesAt(pausingSES(t, workers-1).URL), workers
			res, err := e.Run(context.Background(), job(3*workers))
			if !errors.Is(err, ErrPaused) {
				t.Fatalf("want the campaign stopped as paused, got %v (%+v)", err, res)
			}
			if res.Failed != 0 {
				t.Errorf("%d members counted failed", res.Failed)
			}
			for k, r := range l.records {
				if r.State != "" {
					t.Errorf("%s left %s (%q): a cancelled send must release its claim", k, r.State, r.MessageID)
				}
			}
		})
	}
}

// TestClassifyCancellation: a context error anywhere in the chain, as the SDK wraps
// an answer whose reading was cancelled, is never a rejected address.
func TestClassifyCancellation(t *testing.T) {
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
		cut := &smithy.DeserializationError{Err: fmt.Errorf("failed to read error response body: %w", cause)}
		wrapped := &smithy.OperationError{ServiceID: "SESv2", OperationName: "SendEmail", Err: httpErrWith(400, cut)}
		if got := classify(wrapped); got == permanent {
			t.Errorf("%v: classified permanent", wrapped)
		}
	}
}

func httpErrWith(code int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
		Err:      err,
	}}
}
