// Package lambdatest runs a function as Lambda runs it: the built `bootstrap`
// under the Lambda runtime interface emulator (aws-lambda-rie, installed into
// <repo>/.bin by `make deps`), invoked over HTTP with an event.
//
//	bootstrap := lambdatest.Build(t, "invitations") // ./functions/invitations
//	out := lambdatest.Invoke(t, bootstrap, env, []byte(`{...}`))
//
// Each Invoke starts a fresh emulator (a cold start); Start keeps one running for
// several invocations (warm ones), and records the cold start's wall time.
package lambdatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
)

// invocationsPath is where the emulator takes an invocation.
const invocationsPath = "/2015-03-31/functions/function/invocations"

var builds struct {
	sync.Mutex
	paths map[string]string // package -> bootstrap, built by this test process
}

// Build builds a function for this machine as `make build` does for Lambda
// (GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags "-s -w"),
// but for the host's GOARCH, and returns the bootstrap's path. pkg is a function's
// name under functions/ ("invitations") or a package path from the repository
// root ("./infra/lambdatest/testdata/echo"). A package is built once per test
// process, into <repo>/.local/lambdatest.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	if !strings.HasPrefix(pkg, "./") {
		pkg = "./functions/" + pkg
	}
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.paths[pkg]; ok {
		return p
	}
	root := repoRoot(tb)
	dir := filepath.Join(root, ".local", "lambdatest", strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	// Another test process may be running the same bootstrap: build beside it
	// and rename, so it keeps its file.
	tmp := filepath.Join(dir, "bootstrap."+strconv.Itoa(os.Getpid()))
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", tmp, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("lambdatest: build %s: %v\n%s", pkg, err, out)
	}
	bootstrap := filepath.Join(dir, "bootstrap")
	if err := os.Rename(tmp, bootstrap); err != nil {
		tb.Fatal(err)
	}
	if builds.paths == nil {
		builds.paths = map[string]string{}
	}
	builds.paths[pkg] = bootstrap
	return bootstrap
}

// RIE is the path of the runtime interface emulator that `make deps` installs.
func RIE(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(repoRoot(tb), ".bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("lambdatest: %s is missing: run `make deps` (it installs "+
			"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie into .bin)", p)
	}
	return p
}

func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := localstack.Root()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// Invoke runs bootstrap under a fresh emulator with exactly the environment env
// (plus the emulator's AWS_LAMBDA_* variables), sends it event, stops it and
// returns the function's answer. A function error fails the test; use Start and
// Function.Call to look at one.
func Invoke(tb testing.TB, bootstrap string, env []string, event []byte) []byte {
	tb.Helper()
	f := Start(tb, bootstrap, env)
	defer f.Stop()
	return f.Invoke(tb, event)
}

// Function is a bootstrap running under the emulator. Its methods may be called
// from several goroutines: invocations are sent one at a time, because the
// emulator crashes on concurrent ones.
type Function struct {
	url     string
	proc    *localstack.Process
	started time.Time

	mu        sync.Mutex
	coldStart time.Duration
	invoked   bool
}

// Result is one invocation's outcome.
type Result struct {
	Payload []byte // the handler's answer, or the error document
	// FunctionError is the handler's error message, "" if it succeeded.
	FunctionError string
	// Duration is the invocation's wall time as the caller sees it; for the
	// first invocation it includes the emulator's and the bootstrap's start.
	Duration time.Duration
	Cold     bool // the first invocation of this Function
}

// Start runs bootstrap under the emulator on two free loopback ports, with
// exactly the environment env, until Stop or the end of the test. The bootstrap
// itself starts with the first invocation, as on Lambda.
func Start(tb testing.TB, bootstrap string, env []string) *Function {
	tb.Helper()
	rie := RIE(tb)
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		f, err := start(rie, abs, env)
		if err == nil {
			tb.Cleanup(func() {
				f.Stop()
				if tb.Failed() {
					tb.Logf("lambdatest: %s under aws-lambda-rie wrote:\n%s", abs, f.proc.Output())
				}
			})
			return f
		}
		lastErr = err
	}
	tb.Fatalf("lambdatest: %v", lastErr)
	return nil
}

func start(rie, bootstrap string, env []string) (*Function, error) {
	apiPort, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	port, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{}, env...)
	f := &Function{url: "http://" + addr + invocationsPath, started: time.Now()}
	if f.proc, err = localstack.StartProcess("aws-lambda-rie", cmd); err != nil {
		return nil, err
	}
	// The emulator has no health endpoint: it is ready once it accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return f, nil
		}
		select {
		case <-f.proc.Exited():
			return nil, fmt.Errorf("aws-lambda-rie exited at start: %s", f.proc.Output())
		default:
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("aws-lambda-rie did not listen on %s within 10 s: %s", addr, f.proc.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Invoke sends event and returns the function's answer; a function error fails
// the test.
func (f *Function) Invoke(tb testing.TB, event []byte) []byte {
	tb.Helper()
	r := f.Call(tb, event)
	if r.FunctionError != "" {
		tb.Fatalf("lambdatest: the function failed: %s", r.Payload)
	}
	return r.Payload
}

// Call sends event and returns the outcome, function errors included.
func (f *Function) Call(tb testing.TB, event []byte) Result {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	begin := time.Now()
	resp, err := http.Post(f.url, "application/json", bytes.NewReader(event))
	if err != nil {
		tb.Fatalf("lambdatest: invoke: %v\n%s", err, f.proc.Output())
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("lambdatest: read the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("lambdatest: invoke: %s: %s\n%s", resp.Status, payload, f.proc.Output())
	}
	r := Result{Payload: payload, FunctionError: functionError(payload), Duration: time.Since(begin), Cold: !f.invoked}
	if r.Cold {
		f.invoked = true
		f.coldStart = time.Since(f.started)
	}
	return r
}

// functionError is the message of the error document the emulator answers (with
// 200 OK) when a handler returns an error: {"errorMessage":..., "errorType":...}.
func functionError(payload []byte) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(payload, &doc) != nil {
		return ""
	}
	msg, ok := doc["errorMessage"]
	if _, typed := doc["errorType"]; !ok || !typed {
		return ""
	}
	for k := range doc {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return ""
		}
	}
	var s string
	if json.Unmarshal(msg, &s) != nil || s == "" {
		return string(msg)
	}
	return s
}

// ColdStart is the wall time from starting the emulator to the first answer:
// what a cold start costs a caller. Zero before the first invocation.
func (f *Function) ColdStart() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.coldStart
}

// Stop stops the emulator and the bootstrap (the emulator kills it).
func (f *Function) Stop() { f.proc.Stop() }
