// Package strict holds the strict layers of the local stack: HTTP servers that stand
// in front of the emulators (dynalite for DynamoDB, aws-ses-v2-local for SES v2) and
// refuse, with AWS's own error type and message, the requests that AWS refuses and
// the emulators let through. Everything that talks to the local stack talks to these
// layers: the Go tests (infra/localstack), `make stack` and `make run`
// (infra/stack.sh, through cmd/strictstack). Their rules, each with its source in
// AWS's documentation, are listed in RULES.md beside this file.
//
// The layers also record which API action each caller used on which resource
// (Recorder), so a test can derive each function's IAM policy from what the code
// really calls.
package strict

import (
	"net/http"
	"regexp"
	"slices"
	"sync"
)

// Call is one API action on one resource, as IAM names them: Action
// "dynamodb:Query", Resource "table/<name>"; Action "ses:SendEmail", Resource
// "identity/example.org" or "configuration-set/<name>"; Resource "*" for actions
// with no resource (ses:GetAccount).
type Call struct {
	Action   string
	Resource string
}

// Recorder keeps the calls each caller made. A caller is the access key id the
// request was signed with: tests give each function its own
// (AWS_ACCESS_KEY_ID=<function name>).
type Recorder struct {
	mu    sync.Mutex
	calls map[string]map[Call]bool
}

// NewRecorder is an empty recorder.
func NewRecorder() *Recorder { return &Recorder{calls: map[string]map[Call]bool{}} }

// Record notes one call. A nil recorder records nothing.
func (r *Recorder) Record(caller string, c Call) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[caller] == nil {
		r.calls[caller] = map[Call]bool{}
	}
	r.calls[caller][c] = true
}

// Calls is every distinct call the caller made, sorted by action then resource.
func (r *Recorder) Calls(caller string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for c := range r.calls[caller] {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Call) int {
		if a.Action != b.Action {
			if a.Action < b.Action {
				return -1
			}
			return 1
		}
		if a.Resource < b.Resource {
			return -1
		}
		if a.Resource > b.Resource {
			return 1
		}
		return 0
	})
	return out
}

// Callers is every caller seen, sorted.
func (r *Recorder) Callers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for c := range r.calls {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

var credential = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// Caller is the access key id a SigV4-signed request was signed with ("" if it
// carries no signature).
func Caller(r *http.Request) string {
	m := credential.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return ""
	}
	return m[1]
}
