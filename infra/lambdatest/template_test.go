package lambdatest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/afterparty/afterparty/infra/localstack"
)

// TestEveryTemplateFunctionHasABuildTarget proves that `sam build` can build
// every function of template.yaml: each one that says BuildMethod: makefile has a
// build-<LogicalId> target in the Makefile, which builds an existing
// functions/<name> into $(ARTIFACTS_DIR)/bootstrap for arm64 as Lambda runs it.
func TestEveryTemplateFunctionHasABuildTarget(t *testing.T) {
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type     string `yaml:"Type"`
			Metadata struct {
				BuildMethod string `yaml:"BuildMethod"`
			} `yaml:"Metadata"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	artifacts := t.TempDir()
	build := regexp.MustCompile(`GOARCH=arm64 .*go build -tags lambda\.norpc -trimpath -ldflags "-s -w" -o ` +
		regexp.QuoteMeta(artifacts) + `/bootstrap \./functions/([a-z0-9_-]+)`)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			if m := tpl.Resources[id].Metadata.BuildMethod; m != "makefile" {
				t.Fatalf("Metadata.BuildMethod = %q, want makefile", m)
			}
			cmd := exec.Command("make", "-n", "build-"+id, "ARTIFACTS_DIR="+artifacts)
			cmd.Dir = root
			// Not the flags of a `make test` that runs this test.
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			m := build.FindSubmatch(out)
			if m == nil {
				t.Fatalf("make build-%s does not build a functions/ package into $(ARTIFACTS_DIR)/bootstrap for arm64:\n%s", id, out)
			}
			if fi, err := os.Stat(filepath.Join(root, "functions", string(m[1]))); err != nil || !fi.IsDir() {
				t.Errorf("make build-%s builds functions/%s, which is not a directory", id, m[1])
			}
		})
	}
}
