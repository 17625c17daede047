package campaign

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

var (
	// errRejected marks an answer that says this address will never take this message.
	errRejected = errors.New("rejected by SES")
	// errRefused marks an answer that says no message will go out (credentials,
	// permissions, an unverified identity): stop rather than mark anyone failed.
	errRefused = errors.New("SES refused the request")
	// errSandboxed marks a recipient SES will not send to while the account is in
	// the sandbox: not the member's fault, so the send is left for a later run.
	errSandboxed = errors.New("SES sandbox: recipient not verified")
)

// send calls SES, backing off on throttling, 5xx and network errors until it is
// accepted, rejected for good, or the run must stop. Each call has a client timeout
// well inside the lease (attemptTimeout) and starts only while h shows the claim
// lasts past it; otherwise send returns errNotHeld without calling SES.
func (e *Engine) send(ctx context.Context, in *sesv2.SendEmailInput, h *hold) (string, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			d := min(200*time.Millisecond<<min(attempt, 6), 10*time.Second)
			d = d/2 + rand.N(d/2+1)
			if dl, ok := ctx.Deadline(); ok && dl.Sub(e.Clock()) < e.Margin+d {
				return "", lastErr
			}
			select {
			case <-ctx.Done():
				return "", lastErr
			case <-time.After(d):
			}
		}
		if err := h.ready(ctx); err != nil {
			if lastErr != nil {
				return "", fmt.Errorf("%w (last SES error: %w)", err, lastErr)
			}
			return "", err
		}
		actx, cancel := context.WithTimeout(ctx, e.attemptTimeout())
		out, err := e.SES.SendEmail(actx, in)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return aws.ToString(out.MessageId), nil
		}
		if timedOut {
			e.Log.Warn("SES call timed out: its outcome is unknown, and the retry may send a second copy", "timeout", e.attemptTimeout(), "attempt", attempt+1)
		}
		if ctx.Err() != nil {
			// The run is stopping (another worker saw the account paused, or the
			// deadline): whatever this answer was, reading it may have been cut
			// short, so it says nothing about the member. The caller releases.
			return "", fmt.Errorf("send interrupted (%w): %w", context.Cause(ctx), err)
		}
		switch classify(err) {
		case permanent:
			return "", errors.Join(errRejected, err)
		case paused:
			return "", errors.Join(ErrPaused, err)
		case refused:
			return "", errors.Join(errRefused, err)
		case unverified:
			// SES's message names the addresses: keep them out of the error, which is logged.
			if recipientsOnly(err, in) {
				return "", errSandboxed
			}
			return "", fmt.Errorf("%w: the sender's identity is not verified in this region (MessageRejected)", errRefused)
		}
		lastErr = err
		if attempt >= 12 {
			return "", lastErr
		}
	}
}

type errorClass int

const (
	transient errorClass = iota
	permanent
	paused
	refused
	unverified // "Email address is not verified": the sender's identity, or a recipient in the sandbox
)

// notVerified starts SES's answer when an identity of the request is not verified:
// "Email address is not verified. The following identities failed the check in
// region US-EAST-1: a@example.org, ..." (an ellipsis ends a list too long to show).
const notVerified = "Email address is not verified."

// classify sorts an SES error: throttling, 5xx and network trouble are transient;
// a rejected message or address is permanent; a paused or suspended account, or a
// MAIL FROM domain SES cannot use, stops; an unverified identity is the sender's
// (stop) or, in the sandbox, a recipient's (see recipientsOnly). A cancelled or
// timed-out call anywhere in the chain (an answer whose reading was cut short comes
// back as a 400 wrapping it) is transient: never the member's fault.
func classify(err error) errorClass {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return transient
	}
	var (
		rejected  *types.MessageRejected
		badReq    *types.BadRequestException
		notVerif  *types.MailFromDomainNotVerifiedException
		suspended *types.AccountSuspendedException
		pausedErr *types.SendingPausedException
	)
	switch {
	case errors.As(err, &suspended), errors.As(err, &pausedErr), errors.As(err, &notVerif):
		return paused
	case errors.As(err, &rejected) && strings.HasPrefix(rejected.ErrorMessage(), notVerified):
		return unverified
	case errors.As(err, &rejected), errors.As(err, &badReq):
		return permanent
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests || code >= 500:
			return transient
		case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
			return refused
		case code >= 400:
			var api smithy.APIError
			if errors.As(err, &api) && strings.Contains(strings.ToLower(api.ErrorCode()), "throttl") {
				return transient
			}
			return permanent
		}
	}
	return transient
}

// recipientsOnly says whether every identity an "Email address is not verified"
// answer lists is a recipient of in (the sandbox refusing them), rather than the
// sender. If the list cannot be read, or names anything else, it is the sender's.
func recipientsOnly(err error, in *sesv2.SendEmailInput) bool {
	var rejected *types.MessageRejected
	if !errors.As(err, &rejected) {
		return false
	}
	_, list, ok := strings.Cut(rejected.ErrorMessage(), ": ")
	if !ok || in.Destination == nil {
		return false
	}
	recipients := map[string]bool{}
	for _, l := range [][]string{in.Destination.ToAddresses, in.Destination.CcAddresses, in.Destination.BccAddresses} {
		for _, a := range l {
			recipients[bareAddress(a)] = true
		}
	}
	n := 0
	for _, id := range strings.Split(list, ", ") {
		id = strings.TrimSpace(id)
		if id == "" || strings.HasSuffix(id, "...") {
			return false
		}
		if !recipients[bareAddress(id)] {
			return false
		}
		n++
	}
	return n > 0
}

func bareAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address)
	}
	return strings.ToLower(strings.TrimSpace(s))
}
