package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestDefaultsFitTheLocalStack(t *testing.T) {
	c, err := Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://127.0.0.1:8080" || c.ScheduleTable != "afterparty-schedule" || c.Leads.Invitation != 14*24*time.Hour || c.ClaimLease != 2*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	tests := map[string]string{
		"AFTERPARTY_FROM":            "not an address",
		"AFTERPARTY_TIME_ZONE":       "Mars/Base",
		"AFTERPARTY_BASE_URL":        "ftp://x",
		"AFTERPARTY_REMINDER_LEAD":   "soon",
		"AFTERPARTY_MAX_SEND_RATE":   "-1",
		"AFTERPARTY_ORGANIZERS":      "a@b.example, nope",
		"AFTERPARTY_CLAIM_LEASE":     "0s",
		"AFTERPARTY_INVITATION_LEAD": "-3d",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(func(n string) (string, bool) {
				if n == name {
					return value, true
				}
				return "", false
			})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("want an error naming %s, got %v", name, err)
			}
		})
	}
}

// The README's table of variables is the organizers' reference: every variable the
// code reads must be in it.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(append([]Var{}, Vars...), LocalAWS[:2]...) {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
