package setup

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/afterparty/afterparty/shared/config"
)

// TestLambdaRefusesTheDevelopmentSecret: a function in AWS (local false) must not
// sign links with no secret or with the default anyone can read; the CLI against
// the local stack (local true) may.
func TestLambdaRefusesTheDevelopmentSecret(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		env     map[string]string
		local   bool
		refused bool
	}{
		{"lambda, no secret", map[string]string{}, false, true},
		{"lambda, empty secret", map[string]string{"AFTERPARTY_LINK_SECRET": "  "}, false, true},
		{"lambda, development default", map[string]string{"AFTERPARTY_LINK_SECRET": config.DevLinkSecret}, false, true},
		{"lambda, own secret", map[string]string{"AFTERPARTY_LINK_SECRET": "test-secret-test-secret-test-secret"}, false, false},
		{"cli on the local stack, no secret", map[string]string{}, true, false},
		{"cli on the local stack, development default", map[string]string{"AFTERPARTY_LINK_SECRET": config.DevLinkSecret}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			_, err := New(context.Background(), getenv, tt.local, log)
			switch {
			case tt.refused && err == nil:
				t.Fatal("New started with no secret of its own")
			case tt.refused && !strings.Contains(err.Error(), "AFTERPARTY_LINK_SECRET"):
				t.Fatalf("error does not name the variable: %v", err)
			case !tt.refused && err != nil:
				t.Fatalf("New: %v", err)
			}
		})
	}
}
