package buildcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGoModIsTidy proves go.mod and go.sum are what `go mod tidy` makes of them:
// direct requirements are not marked indirect and nothing unused is kept.
func TestGoModIsTidy(t *testing.T) {
	out, err := exec.Command("go", "mod", "tidy", "-diff").CombinedOutput()
	if err != nil {
		t.Fatalf("go mod tidy would change go.mod/go.sum (run go mod tidy):\n%s", out)
	}
}

// TestMakeTestChecksTidy proves `make test` runs the tidy check, so an untidy
// go.mod fails it like an unformatted file does.
func TestMakeTestChecksTidy(t *testing.T) {
	cmd := exec.Command("make", "-n", "test")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "go mod tidy -diff") {
		t.Fatalf("make test does not run `go mod tidy -diff`:\n%s", out)
	}
}
