package lambdatest

import "testing"

func TestFunctionError(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"error document", `{"errorMessage":"boom","errorType":"errorString"}`, "boom"},
		{"with a stack trace", `{"errorMessage":"boom","errorType":"x","stackTrace":[]}`, "boom"},
		{"an answer", `{"ok":true}`, ""},
		{"an answer that mentions errorMessage", `{"errorMessage":"shown to a member","errorType":"x","meeting":"m"}`, ""},
		{"not an object", `[1,2]`, ""},
		{"not JSON", `plain`, ""},
		{"null", `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := functionError([]byte(tt.payload)); got != tt.want {
				t.Errorf("functionError(%s) = %q, want %q", tt.payload, got, tt.want)
			}
		})
	}
}
