package group

import (
	"strings"
	"testing"
	"time"
)

func s(v string) Value { return Value{Type: "S", Text: v} }
func n(v string) Value { return Value{Type: "N", Text: v} }

func validRow() Row {
	return Row{
		FieldMeetingID: s("2026-12-10"),
		FieldTitle:     s("Tracing Go services"),
		FieldStartsAt:  s("2026-12-10T18:30"),
		FieldVenue:     s("Library"),
		FieldPubName:   s("The Lucky Lab"),
	}
}

func TestParseMeetingValid(t *testing.T) {
	m, ps := ParseMeeting(validRow(), "America/Los_Angeles")
	if len(ps) > 0 {
		t.Fatalf("unexpected problems: %v", ps)
	}
	if got, want := m.Start.UTC().Format(time.RFC3339), "2026-12-11T02:30:00Z"; got != want {
		t.Errorf("start = %s, want %s", got, want)
	}
	if got := m.End.Sub(m.Start); got != 120*time.Minute {
		t.Errorf("default duration = %v, want 2h", got)
	}
	if m.Status != StatusScheduled {
		t.Errorf("status = %q, want scheduled", m.Status)
	}
}

func TestParseMeetingTimes(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(Row)
		wantStart string
		wantEnd   string
	}{
		{"RFC 3339 with offset", func(r Row) { r[FieldStartsAt] = s("2026-12-10T18:30:00-08:00") }, "2026-12-11T02:30:00Z", "2026-12-11T04:30:00Z"},
		{"duration in minutes", func(r Row) { r[FieldDurationMinutes] = n("90") }, "2026-12-11T02:30:00Z", "2026-12-11T04:00:00Z"},
		{"explicit end", func(r Row) { r[FieldEndsAt] = s("2026-12-10T21:00") }, "2026-12-11T02:30:00Z", "2026-12-11T05:00:00Z"},
		{"per-meeting zone", func(r Row) { r[FieldTimeZone] = s("Europe/Berlin") }, "2026-12-10T17:30:00Z", "2026-12-10T19:30:00Z"},
		{"day after DST ends", func(r Row) { r[FieldStartsAt] = s("2026-11-02T18:30") }, "2026-11-03T02:30:00Z", "2026-11-03T04:30:00Z"},
		{"day before DST ends", func(r Row) { r[FieldStartsAt] = s("2026-10-31T18:30") }, "2026-11-01T01:30:00Z", "2026-11-01T03:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRow()
			tt.edit(r)
			m, ps := ParseMeeting(r, "America/Los_Angeles")
			if len(ps) > 0 {
				t.Fatalf("problems: %v", ps)
			}
			if got := m.Start.UTC().Format(time.RFC3339); got != tt.wantStart {
				t.Errorf("start = %s, want %s", got, tt.wantStart)
			}
			if got := m.End.UTC().Format(time.RFC3339); got != tt.wantEnd {
				t.Errorf("end = %s, want %s", got, tt.wantEnd)
			}
		})
	}
}

func TestParseMeetingProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(Row)
		field string
		want  string
	}{
		{"missing title", func(r Row) { delete(r, FieldTitle) }, FieldTitle, "required"},
		{"missing start", func(r Row) { delete(r, FieldStartsAt) }, FieldStartsAt, "required"},
		{"start not a time", func(r Row) { r[FieldStartsAt] = s("next tuesday") }, FieldStartsAt, "not a time"},
		{"time skipped by DST", func(r Row) { r[FieldStartsAt] = s("2026-03-08T02:30") }, FieldStartsAt, "does not exist"},
		{"unknown zone", func(r Row) { r[FieldTimeZone] = s("Mars/Olympus_Mons") }, FieldTimeZone, "not an IANA time zone"},
		{"end before start", func(r Row) { r[FieldEndsAt] = s("2026-12-10T17:00") }, FieldEndsAt, "end after it starts"},
		{"both end and duration", func(r Row) { r[FieldEndsAt] = s("2026-12-10T20:00"); r[FieldDurationMinutes] = n("60") }, FieldEndsAt, "not both"},
		{"negative capacity", func(r Row) { r[FieldCapacity] = n("-3") }, FieldCapacity, "0 (no limit) or more"},
		{"capacity not a number", func(r Row) { r[FieldCapacity] = s("lots") }, FieldCapacity, "whole number"},
		{"title is a list", func(r Row) { r[FieldTitle] = Value{Type: "other"} }, FieldTitle, "must be text"},
		{"line break in title", func(r Row) { r[FieldTitle] = s("Hi\r\nBcc: victim@example.com") }, FieldTitle, "line break"},
		{"NUL in venue", func(r Row) { r[FieldVenue] = s("Lib\x00rary") }, FieldVenue, "NUL"},
		{"bad status", func(r Row) { r[FieldStatus] = s("postponed") }, FieldStatus, "must be"},
		{"pub address without name", func(r Row) { delete(r, FieldPubName); r[FieldPubAddress] = s("1 Main St") }, FieldPubName, "name the pub"},
		{"pub url not http", func(r Row) { r[FieldPubURL] = s("javascript:alert(1)") }, FieldPubURL, "http(s)"},
		{"unknown field", func(r Row) { r["speeker"] = s("Rob") }, "speeker", "unknown field"},
		{"bad meeting id", func(r Row) { r[FieldMeetingID] = s("dec/10") }, FieldMeetingID, "no spaces"},
		{"missing meeting id", func(r Row) { delete(r, FieldMeetingID) }, FieldMeetingID, "required"},
		{"overlong title", func(r Row) { r[FieldTitle] = s(strings.Repeat("a", 201)) }, FieldTitle, "at most 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRow()
			tt.edit(r)
			_, ps := ParseMeeting(r, "America/Los_Angeles")
			for _, p := range ps {
				if p.Field == tt.field && strings.Contains(p.Message, tt.want) {
					return
				}
			}
			t.Errorf("want a problem on %s containing %q, got %v", tt.field, tt.want, ps)
		})
	}
}

func TestParseMeetingReportsEveryProblem(t *testing.T) {
	r := Row{FieldMeetingID: s("x"), FieldStartsAt: s("soon"), FieldCapacity: n("-1"), FieldStatus: s("maybe")}
	_, ps := ParseMeeting(r, "UTC")
	if len(ps) < 4 {
		t.Fatalf("want at least 4 problems (title, starts_at, capacity, status), got %d: %v", len(ps), ps)
	}
	for _, p := range ps {
		if p.MeetingID != "x" {
			t.Errorf("problem %v does not name the meeting", p)
		}
	}
}

func TestVersionChangesWithContent(t *testing.T) {
	a, b := validRow(), validRow()
	if a.Version() != b.Version() {
		t.Fatal("equal rows must have equal versions")
	}
	b[FieldTopic] = s("new topic")
	if a.Version() == b.Version() {
		t.Fatal("a changed row must have a new version")
	}
}

func FuzzParseMeeting(f *testing.F) {
	f.Add("2026-12-10", "Title", "2026-12-10T18:30", "90", "Europe/Berlin", "10")
	f.Add("", "", "", "", "", "")
	f.Add("a b", "x\r\ny", "2026-03-08T02:30", "-1", "Local", "-3")
	f.Fuzz(func(t *testing.T, id, title, start, dur, zone, capacity string) {
		r := Row{FieldMeetingID: s(id), FieldTitle: s(title), FieldStartsAt: s(start), FieldDurationMinutes: s(dur), FieldTimeZone: s(zone), FieldCapacity: s(capacity)}
		m, ps := ParseMeeting(r, "America/Los_Angeles")
		if len(ps) > 0 {
			return
		}
		if strings.ContainsAny(m.Title, "\r\n\x00") || m.Title == "" {
			t.Fatalf("valid meeting with a title unsafe for a header: %q", m.Title)
		}
		if !m.End.After(m.Start) {
			t.Fatalf("valid meeting ends %v before it starts %v", m.End, m.Start)
		}
		if m.Capacity < 0 {
			t.Fatalf("valid meeting with capacity %d", m.Capacity)
		}
	})
}
