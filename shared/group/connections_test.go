package group_test

import (
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

func TestConnectionsOpenIsTheNextMorningLocally(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	tests := []struct {
		name     string
		end, due time.Time
	}{
		{"ordinary evening", time.Date(2031, 3, 13, 20, 30, 0, 0, la), time.Date(2031, 3, 14, 10, 0, 0, 0, la)},
		{"the night DST starts", time.Date(2031, 3, 8, 23, 0, 0, 0, la), time.Date(2031, 3, 9, 10, 0, 0, 0, la)},
		{"ends after midnight", time.Date(2031, 3, 14, 0, 30, 0, 0, la), time.Date(2031, 3, 15, 10, 0, 0, 0, la)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := group.Meeting{Start: tt.end.Add(-2 * time.Hour), End: tt.end, Location: la}
			if got := group.DefaultLeadTimes.ConnectionsOpen(m); !got.Equal(tt.due) {
				t.Errorf("due %v, want %v", got, tt.due)
			}
			if due, _ := group.DefaultLeadTimes.Due(group.Connections, m, tt.due.Add(-time.Second)); due {
				t.Error("due before its time")
			}
			if due, _ := group.DefaultLeadTimes.Due(group.Connections, m, tt.due); !due {
				t.Error("not due at its time")
			}
			m.Status = group.StatusCancelled
			if due, _ := group.DefaultLeadTimes.Due(group.Connections, m, tt.due); due {
				t.Error("due for a cancelled meeting")
			}
		})
	}
}

func TestShortNameHidesTheSurname(t *testing.T) {
	for in, want := range map[string]string{"Grace Brewster Hopper": "Grace H.", "Hopper, Grace": "Grace H.", "Ada": "Ada", "": "A member", "José Núñez": "José N."} {
		if got := (group.Member{Name: in}).ShortName(); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKindConnections(t *testing.T) {
	for _, s := range []string{"connections", "Connections", "pubs", "pub"} {
		if _, ok := group.ParseKind(s); !ok {
			t.Errorf("ParseKind(%q) failed", s)
		}
	}
}
