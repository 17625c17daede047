package localstack

import (
	"strings"
	"testing"
)

func TestStartFailsLoudlyWithoutEmulators(t *testing.T) {
	tests := []struct {
		name string
		root string
	}{
		{"empty repository", t.TempDir()},
		{"missing directory", "/nonexistent/afterparty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := start(tt.root)
			if err == nil {
				s.Stop()
				t.Fatal("start succeeded without infra/local/node_modules")
			}
			if !strings.Contains(err.Error(), "run `make deps`") {
				t.Errorf("error %q does not say to run `make deps`", err)
			}
		})
	}
}
