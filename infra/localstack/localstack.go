// Package localstack starts the pinned emulators (npm dynalite for DynamoDB,
// npm aws-ses-v2-local for SES v2) for Go tests, on free loopback ports so tests
// never clash with a running `make run` on 8000/8005, and tears them down.
//
// A test package that talks to the emulators says
//
//	func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }
//
// and its tests call localstack.Get(t) for the running Stack. Each emulator runs
// in its own process group, killed as a group on Stop, and dies with the test
// binary even when that is killed (Pdeathsig), so no node process outlives a test
// run. The emulators come from infra/local/node_modules (`make deps`); without
// them Start fails, it never skips.
//
// infra/stack.sh starts the same emulators with the same flags for `make run`.
package localstack

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/strict"
)

// SESAccount is the GetAccount answer the SES emulator gives (AWS_SES_ACCOUNT):
// MaxSendRate 14, Max24HourSend 50000. infra/stack.sh reads the same file. The
// emulator validates every field of it, so a partial document makes GetAccount
// answer 400.
//
//go:embed ses-account.json
var SESAccount string

// Stack is a running pair of emulators, each behind its strict layer
// (infra/strict): the URLs are the layers', and nothing in the tests reaches an
// emulator except through its layer.
type Stack struct {
	DynamoURL string // e.g. http://127.0.0.1:41234: the strict DynamoDB layer
	SESURL    string // e.g. http://127.0.0.1:41235: the strict SES layer
	// SecretsURL serves Secrets Manager's GetSecretValue (strict.Secrets) for
	// tests that read the link secret the way the functions do on AWS.
	SecretsURL string
	Secrets    *strict.Secrets
	// S3URL serves S3's GetObject and PutObject, path-style (strict.S3), with the
	// bucket LocalInboundBucket, where tests store received mail as SES does.
	S3URL string
	S3    *strict.S3

	// Recorder has every API call made through the layers, by caller (the access
	// key id a request was signed with).
	Recorder *strict.Recorder
	// SESLayer is the SES layer: tests switch sandbox mode and account-level errors
	// on it, and add identities and configuration sets.
	SESLayer *strict.SES

	root    string
	procs   []*Process
	servers []*http.Server
}

var running *Stack

// LocalIdentities are the SES identities the local stack has verified: the domain
// of the default AFTERPARTY_FROM. A From anywhere else is refused, as SES does.
var LocalIdentities = []string{"afterparty.example"}

// LocalInboundBucket is the S3 bucket the local stack has: where received mail is
// stored, as the SES receipt rule's S3 action does with template.yaml's
// InboundBucket.
const LocalInboundBucket = "afterparty-inbound-local"

// LocalConfigurationSets are the SES configuration sets the local stack has.
var LocalConfigurationSets = []string{"afterparty-local"}

// Run is for TestMain: it starts the emulators, runs the tests and stops the
// emulators, returning the exit code for os.Exit. If the emulators cannot start,
// it says why and returns 1: tests that need them never skip.
func Run(m *testing.M) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		return 1
	}
	running = s
	defer func() {
		running = nil
		s.Stop()
	}()
	return m.Run()
}

// Get returns the stack that Run started; it fails the test if the package's
// TestMain does not use Run.
func Get(tb testing.TB) *Stack {
	tb.Helper()
	if running == nil {
		tb.Fatal("localstack: no running stack: the package needs " +
			"`func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }`")
	}
	return running
}

// Start starts both emulators on free loopback ports and waits until they answer.
// The caller must Stop the stack.
func Start() (*Stack, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	return start(root)
}

func start(root string) (*Stack, error) {
	modules := filepath.Join(root, "infra", "local", "node_modules")
	dynalite := filepath.Join(modules, "dynalite", "cli.js")
	ses := filepath.Join(modules, "aws-ses-v2-local", "dist", "cli.js")
	for _, f := range []string{dynalite, ses} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("emulator %s is missing: run `make deps` (it runs npm ci in infra/local)", f)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: install Node.js (Debian: apt-get install nodejs), then run `make deps`")
	}
	s := &Stack{root: root}
	dyn, dynURL, err := startServer("dynalite", "/", "Dynalite listening at", func(port int) *exec.Cmd {
		return exec.Command(node, dynalite, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50")
	})
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, dyn)
	sesProc, sesURL, err := startServer("aws-ses-v2-local", "/health-check", "server running at", func(port int) *exec.Cmd {
		cmd := exec.Command(node, ses, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "AWS_SES_ACCOUNT="+SESAccount)
		return cmd
	})
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.procs = append(s.procs, sesProc)
	if err := s.startLayers(dynURL, sesURL); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// startLayers puts the strict layers in front of the emulators, in this process.
func (s *Stack) startLayers(dynamoUpstream, sesUpstream string) error {
	s.Recorder = strict.NewRecorder()
	dyn, err := strict.NewDynamo(dynamoUpstream, s.Recorder)
	if err != nil {
		return err
	}
	ses, err := strict.NewSES(sesUpstream, strict.SESOptions{
		Identities: LocalIdentities, ConfigurationSets: LocalConfigurationSets, Recorder: s.Recorder,
	})
	if err != nil {
		return err
	}
	s.SESLayer = ses
	if s.DynamoURL, err = s.serve(dyn); err != nil {
		return err
	}
	if s.SESURL, err = s.serve(ses); err != nil {
		return err
	}
	s.Secrets = strict.NewSecrets(s.Recorder)
	if s.SecretsURL, err = s.serve(s.Secrets); err != nil {
		return err
	}
	s.S3 = strict.NewS3(s.Recorder, LocalInboundBucket)
	s.S3URL, err = s.serve(s.S3)
	return err
}

// serve runs h on a free loopback port until Stop.
func (s *Stack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("strict layer: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.servers = append(s.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

// Stop closes the strict layers, kills both emulators' process groups and waits
// for them to exit.
func (s *Stack) Stop() {
	for _, srv := range s.servers {
		srv.Close()
	}
	s.servers = nil
	for _, p := range s.procs {
		p.Stop()
	}
	s.procs = nil
}

// PIDs are the emulators' process ids (each leads its own process group).
func (s *Stack) PIDs() []int {
	var pids []int
	for _, p := range s.procs {
		pids = append(pids, p.PID())
	}
	return pids
}

// Root is the repository root: the nearest directory above the working directory
// holding go.mod (a test's working directory is its package's directory).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from inside the afterparty repository")
		}
		dir = parent
	}
}

// Process is a child process in its own process group that dies with this
// process: an emulator here, the Lambda runtime interface emulator in
// infra/lambdatest.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the child has exited and been reaped
}

// startServer starts a server on a free port and waits until it has said
// listening (so the server answering is this one, not another that took the port)
// and GET probe answers 200. A port taken between choosing and binding it is
// retried on another.
func startServer(name, probe, listening string, command func(port int) *exec.Cmd) (*Process, string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, "", err
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		p, err := StartProcess(name, command(port))
		if err != nil {
			return nil, "", err
		}
		if err = p.waitReady(url+probe, listening, 20*time.Second); err == nil {
			return p, url, nil
		}
		p.Stop()
		lastErr = err
		if !strings.Contains(p.Output(), "EADDRINUSE") {
			break
		}
	}
	return nil, "", lastErr
}

// FreePort is a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartProcess starts cmd in its own process group, killed by the kernel if this
// process dies (Linux). Its output, unless cmd already has Stdout or Stderr, is
// kept for Output. The caller must Stop it.
//
// Pdeathsig is tied to the thread that forked the child, and the Go runtime ends
// a thread when a goroutine locked to it returns, so one goroutine locked to its
// thread starts the child and waits for it for the child's whole life.
func StartProcess(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil && cmd.Stderr == nil {
		w := &syncWriter{buf: &bytes.Buffer{}}
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("start %s: %w", name, err)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// PID is the process id, also its process group id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

func (p *Process) waitReady(url, listening string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it answered %s: %s", p.name, url, p.Output())
		default:
		}
		if !strings.Contains(p.Output(), listening) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within %s: %s", p.name, url, timeout, p.Output())
}

// Stop sends SIGTERM to the process group, then SIGKILL if it lingers, and waits
// for the process to exit. Stopping a stopped process does nothing.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return // reaped: its pid may already name another process
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Output is the last 64 KiB the process wrote to stdout and stderr.
func (p *Process) Output() string {
	if w, ok := p.cmd.Stdout.(*syncWriter); ok {
		return w.String()
	}
	return ""
}

// syncWriter keeps the last outputLimit bytes a child wrote, safe to read while
// the child writes.
type syncWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

const outputLimit = 64 << 10

func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if over := w.buf.Len() - outputLimit; over > 0 {
		w.buf.Next(over)
	}
	return len(b), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.buf.String())
}
