package lambdatest_test

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/lambdatest"
)

const echo = "./infra/lambdatest/testdata/echo"

func TestBuild(t *testing.T) {
	bootstrap := lambdatest.Build(t, echo)
	if filepath.Base(bootstrap) != "bootstrap" {
		t.Errorf("built %s, want a file named bootstrap", bootstrap)
	}
	f, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("bootstrap is not a Linux executable: %v", err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if f.Machine != want {
		t.Errorf("machine %v, want %v (host GOARCH %s)", f.Machine, want, runtime.GOARCH)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked: want CGO_ENABLED=0")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap has a symbol table: want -ldflags -s")
	}
	before, _ := os.Stat(bootstrap)
	if again := lambdatest.Build(t, echo); again != bootstrap {
		t.Errorf("second Build = %s, want the cached %s", again, bootstrap)
	}
	if after, _ := os.Stat(bootstrap); !after.ModTime().Equal(before.ModTime()) {
		t.Error("second Build rebuilt the bootstrap")
	}
}

type answer struct {
	Echo json.RawMessage   `json:"echo"`
	Env  map[string]string `json:"env"`
}

func TestInvoke(t *testing.T) {
	bootstrap := lambdatest.Build(t, echo)
	t.Setenv("LAMBDATEST_NOT_PASSED", "leaked")
	tests := []struct {
		name    string
		env     []string
		event   string
		want    string // the echo
		wantEnv map[string]string
	}{
		{name: "echoes the event", event: `{"echo":{"meeting":"2026-12-10"}}`, want: `{"meeting":"2026-12-10"}`},
		{
			name:    "the function sees exactly env",
			env:     []string{"AFTERPARTY_STATE_TABLE=state-1"},
			event:   `{"echo":1,"env":["AFTERPARTY_STATE_TABLE","LAMBDATEST_NOT_PASSED","AWS_LAMBDA_FUNCTION_NAME"]}`,
			want:    `1`,
			wantEnv: map[string]string{"AFTERPARTY_STATE_TABLE": "state-1", "LAMBDATEST_NOT_PASSED": "", "AWS_LAMBDA_FUNCTION_NAME": "test_function"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got answer
			if err := json.Unmarshal(lambdatest.Invoke(t, bootstrap, tt.env, []byte(tt.event)), &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Echo) != tt.want {
				t.Errorf("echo = %s, want %s", got.Echo, tt.want)
			}
			for k, v := range tt.wantEnv {
				if got.Env[k] != v {
					t.Errorf("function's %s = %q, want %q", k, got.Env[k], v)
				}
			}
		})
	}
}

func TestFunction(t *testing.T) {
	bootstrap := lambdatest.Build(t, echo)
	f := lambdatest.Start(t, bootstrap, nil)
	if f.ColdStart() != 0 {
		t.Errorf("ColdStart before any invocation = %v, want 0", f.ColdStart())
	}
	calls := []struct {
		name      string
		event     string
		wantCold  bool
		wantError string
	}{
		{name: "first call is cold", event: `{"echo":1}`, wantCold: true},
		{name: "second call is warm", event: `{"echo":2}`},
		{name: "a function error is reported", event: `{"fail":"no such meeting"}`, wantError: "no such meeting"},
		{name: "and the function goes on", event: `{"echo":3}`},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := f.Call(t, []byte(c.event))
			if r.Cold != c.wantCold {
				t.Errorf("Cold = %v, want %v", r.Cold, c.wantCold)
			}
			if r.FunctionError != c.wantError {
				t.Errorf("FunctionError = %q, want %q (payload %s)", r.FunctionError, c.wantError, r.Payload)
			}
			if r.Duration <= 0 {
				t.Errorf("Duration = %v", r.Duration)
			}
		})
	}
	cold := f.ColdStart()
	if cold <= 0 || cold > 30*time.Second {
		t.Errorf("ColdStart = %v", cold)
	}
	t.Logf("cold start (emulator start to first answer): %v", cold)

	t.Run("concurrent calls are serialized", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := f.Call(t, []byte(`{"echo":`+string(rune('0'+i))+`}`))
				var got answer
				if err := json.Unmarshal(r.Payload, &got); err != nil || string(got.Echo) != string(rune('0'+i)) {
					errs <- string(r.Payload)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("wrong answer %s", e)
		}
	})

	t.Run("Stop ends the emulator and the bootstrap", func(t *testing.T) {
		if running := processesRunning(bootstrap); len(running) != 2 {
			t.Fatalf("before Stop: %q, want aws-lambda-rie and the bootstrap", running)
		}
		f.Stop()
		deadline := time.Now().Add(5 * time.Second)
		for {
			running := processesRunning(bootstrap)
			if len(running) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still running after Stop: %v", running)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// processesRunning lists live processes whose command line mentions path.
func processesRunning(path string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), path) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err == nil {
			fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(fields) > 0 && fields[0] == "Z" {
				continue
			}
		}
		out = append(out, d+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// BenchmarkEchoInvoke shows how a function's benchmark reports its cold start
// next to the warm invocation time.
func BenchmarkEchoInvoke(b *testing.B) {
	bootstrap := lambdatest.Build(b, echo)
	f := lambdatest.Start(b, bootstrap, nil)
	event := []byte(`{"echo":{"meeting":"2026-12-10"}}`)
	f.Invoke(b, event)
	for b.Loop() {
		f.Invoke(b, event)
	}
	b.ReportMetric(float64(f.ColdStart().Microseconds())/1000, "cold-start-ms")
}
