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

// TestCoordinatorsDoNotImportStorage proves the packages that coordinate (the
// member pages, the meeting cycle, the campaign engine, calendar replies) talk to
// storage only through interfaces of their own in the domain's types (shared/group):
// none of them depends on shared/dynamo, directly or through another package.
func TestCoordinatorsDoNotImportStorage(t *testing.T) {
	const storage = "github.com/afterparty/afterparty/shared/dynamo"
	for _, pkg := range []string{"shared/web", "shared/cycle", "shared/campaign", "shared/replies"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/afterparty/afterparty/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			if d == storage {
				t.Errorf("%s depends on %s: it should use its own interface in shared/group's types", pkg, storage)
			}
		}
	}
}
