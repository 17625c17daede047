package ical

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// tzDatabases loads zones from the two databases a binary may use: the one
// time/tzdata embeds (the Lambda binaries import it through shared/group; it is
// generated from $GOROOT/lib/time/zoneinfo.zip, read here because time/tzdata
// keeps its copy unexported, and LoadLocation prefers the system's), and the
// system's /usr/share/zoneinfo. They differ: the embedded one lists transitions
// only up to the last rule change and leaves the rest to Go's rule code.
func tzDatabases(t *testing.T) map[string]func(t *testing.T, name string) *time.Location {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	zipPath := filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip")
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("the tz database time/tzdata embeds: %v", err)
	}
	t.Cleanup(func() { zr.Close() })
	if _, err := os.Stat("/usr/share/zoneinfo/UTC"); err != nil {
		t.Fatalf("the system tz database: %v (Debian: apt-get install tzdata)", err)
	}
	return map[string]func(t *testing.T, name string) *time.Location{
		"embedded": func(t *testing.T, name string) *time.Location {
			t.Helper()
			f, err := zr.Open(name)
			if err != nil {
				t.Fatalf("%s in %s: %v", name, zipPath, err)
			}
			defer f.Close()
			data, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			loc, err := time.LoadLocationFromTZData(name, data)
			if err != nil {
				t.Fatal(err)
			}
			return loc
		},
		"system": func(t *testing.T, name string) *time.Location {
			t.Helper()
			data, err := os.ReadFile(filepath.Join("/usr/share/zoneinfo", name))
			if err != nil {
				t.Fatal(err)
			}
			loc, err := time.LoadLocationFromTZData(name, data)
			if err != nil {
				t.Fatal(err)
			}
			return loc
		},
	}
}

// renderBound is how long a render may take before within calls it a hang. The
// loop that never advanced grew to gigabytes in seconds; a correct render takes
// milliseconds, but under the race detector on a busy 2-core machine a feed of 75
// years took over 2 s, so the bound is wide: it catches a hang, not slowness.
const renderBound = 20 * time.Second

// within runs render and fails the test if it takes longer than renderBound.
func within(t *testing.T, what string, render func() ([]byte, error)) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := render()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r.b
	case <-time.After(renderBound):
		t.Fatalf("%s: still rendering after %v", what, renderBound)
		return nil
	}
}

type parsedObservance struct {
	kind     string // STANDARD or DAYLIGHT
	onset    time.Time
	from, to int
	name     string
}

// observancesOf parses the VTIMEZONE of id in the unfolded lines.
func observancesOf(t *testing.T, lines []string, id string) []parsedObservance {
	t.Helper()
	var out []parsedObservance
	var cur parsedObservance
	var onset string
	in, found := false, 0
	for _, l := range lines {
		switch {
		case l == "TZID:"+id:
			in = true
			found++
		case in && l == "END:VTIMEZONE":
			in = false
		case in && (l == "BEGIN:STANDARD" || l == "BEGIN:DAYLIGHT"):
			cur = parsedObservance{kind: strings.TrimPrefix(l, "BEGIN:")}
		case in && strings.HasPrefix(l, "DTSTART:"):
			onset = strings.TrimPrefix(l, "DTSTART:")
		case in && strings.HasPrefix(l, "TZOFFSETFROM:"):
			cur.from = parseOffset(t, strings.TrimPrefix(l, "TZOFFSETFROM:"))
		case in && strings.HasPrefix(l, "TZOFFSETTO:"):
			cur.to = parseOffset(t, strings.TrimPrefix(l, "TZOFFSETTO:"))
		case in && strings.HasPrefix(l, "TZNAME:"):
			cur.name = strings.TrimPrefix(l, "TZNAME:")
		case in && (l == "END:STANDARD" || l == "END:DAYLIGHT"):
			local, err := time.Parse(localLayout, onset)
			if err != nil {
				t.Fatalf("observance DTSTART %q: %v", onset, err)
			}
			cur.onset = local.Add(-time.Duration(cur.from) * time.Second)
			out = append(out, cur)
		}
	}
	if found != 1 {
		t.Fatalf("%d VTIMEZONEs for %s, want 1", found, id)
	}
	return out
}

// checkVTimezone checks the VTIMEZONE of loc against Go's own view of the zone:
// every observance begins at a real transition (the first may begin at 1970 when
// the zone never changed), with the offsets, name and kind Go gives on either side
// of it, in order, each taking over from the one before; every event's DTSTART and
// DTEND resolve, through the VTIMEZONE alone, to the instants meant.
func checkVTimezone(t *testing.T, b []byte, loc *time.Location, want []group.Meeting) {
	t.Helper()
	lines := contentLines(t, b)
	obs := observancesOf(t, lines, loc.String())
	if len(obs) == 0 {
		t.Fatalf("VTIMEZONE %s has no observance", loc)
	}
	for i, o := range obs {
		at := o.onset.In(loc)
		name, offset := at.Zone()
		kind := "STANDARD"
		if at.IsDST() {
			kind = "DAYLIGHT"
		}
		if o.to != offset || o.name != name || o.kind != kind {
			t.Fatalf("observance %d %+v: Go says %s %s %d at its onset %v", i, o, kind, name, offset, at)
		}
		if i == 0 {
			continue
		}
		prev := obs[i-1]
		if !o.onset.After(prev.onset) {
			t.Fatalf("observance %d begins %v, not after observance %d (%v)", i, o.onset, i-1, prev.onset)
		}
		if o.from != prev.to {
			t.Fatalf("observance %d TZOFFSETFROM %d, but the one before it has TZOFFSETTO %d", i, o.from, prev.to)
		}
		before := at.Add(-time.Second)
		bName, bOffset := before.Zone()
		if bName == name && bOffset == offset && before.IsDST() == at.IsDST() {
			t.Fatalf("observance %d begins at %v, where the zone does not change", i, at)
		}
		if bOffset != o.from {
			t.Fatalf("observance %d TZOFFSETFROM %d, Go says %d just before %v", i, o.from, bOffset, at)
		}
	}
	// Every kind of observance the zone has in the events' years is there: a year
	// with daylight saving gets both a STANDARD and a DAYLIGHT.
	has := map[string]bool{}
	for _, o := range obs {
		has[o.kind] = true
	}
	for _, m := range want {
		for y := m.Start.In(loc).Year(); y <= m.End.In(loc).Year(); y++ {
			for kind := range kindsIn(loc, y) {
				if !has[kind] {
					t.Fatalf("the zone has %s time in %d, the VTIMEZONE has no %s observance", kind, y, kind)
				}
			}
		}
	}
	starts, ends := props(events(lines), "DTSTART"), props(events(lines), "DTEND")
	if len(starts) != len(want) || len(ends) != len(want) {
		t.Fatalf("%d DTSTART and %d DTEND for %d meetings", len(starts), len(ends), len(want))
	}
	for i, m := range want {
		if got := resolveWith(t, obs, starts[i]); !got.Equal(m.Start) {
			t.Fatalf("%s resolves to %v, want %v", starts[i], got, m.Start.UTC())
		}
		if got := resolveWith(t, obs, ends[i]); !got.Equal(m.End) {
			t.Fatalf("%s resolves to %v, want %v", ends[i], got, m.End.UTC())
		}
	}
}

type zoneYear struct {
	loc  *time.Location
	year int
}

var kindsCache = map[zoneYear]map[string]bool{}

// kindsIn is the kinds of observance (STANDARD, DAYLIGHT) loc has during year,
// sampled every 6 hours.
func kindsIn(loc *time.Location, year int) map[string]bool {
	if k, ok := kindsCache[zoneYear{loc, year}]; ok {
		return k
	}
	k := map[string]bool{}
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	for t := time.Date(year, 1, 1, 0, 0, 0, 0, loc); t.Before(end); t = t.Add(6 * time.Hour) {
		if t.IsDST() {
			k["DAYLIGHT"] = true
		} else {
			k["STANDARD"] = true
		}
	}
	kindsCache[zoneYear{loc, year}] = k
	return k
}

// resolveWith is resolve with the observances already parsed (a feed to 2100 has
// hundreds of events).
func resolveWith(t *testing.T, obs []parsedObservance, line string) time.Time {
	t.Helper()
	_, value, _ := strings.Cut(line, ":")
	if strings.HasSuffix(value, "Z") {
		u, err := time.Parse(utcLayout, value)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return u
	}
	local, err := time.Parse(localLayout, value)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	var got time.Time
	for i, o := range obs {
		candidate := local.Add(-time.Duration(o.to) * time.Second)
		if candidate.Before(o.onset) || (i+1 < len(obs) && !candidate.Before(obs[i+1].onset)) {
			continue
		}
		got = candidate
		break // RFC 5545 §3.3.5: a local time that occurs twice means the first
	}
	if got.IsZero() {
		t.Fatalf("%q is outside the VTIMEZONE's observances", line)
	}
	return got
}

var testZones = []string{
	"America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata",
	"America/Sao_Paulo", "Australia/Lord_Howe", "Africa/Casablanca",
	"Etc/UTC",
}

// TestVTimezoneEveryMonthTo2100 renders, in both tz databases, an invite around
// every month boundary from 2026 to 2100 (a day-long span across it, the first two
// hours of the month) and a feed holding all of them. Each must be
// quick and hold a VTIMEZONE that agrees with Go's view of the zone.
func TestVTimezoneEveryMonthTo2100(t *testing.T) {
	for dbName, load := range tzDatabases(t) {
		for _, zoneName := range testZones {
			t.Run(dbName+"/"+zoneName, func(t *testing.T) {
				loc := load(t, zoneName)
				var all []Invite
				var allMeetings []group.Meeting
				for month := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); month.Year() <= 2100; month = month.AddDate(0, 1, 0) {
					spans := [][2]time.Time{
						{month.Add(-30 * time.Hour), month.Add(2 * time.Hour)},
						{month, month.Add(2 * time.Hour)},
					}
					for _, s := range spans {
						in := invite(t, MethodRequest)
						in.Meeting.Location, in.Meeting.Start, in.Meeting.End = loc, s[0], s[1]
						what := "invite " + s[0].Format(time.RFC3339) + " to " + s[1].Format(time.RFC3339)
						b := within(t, what, in.Bytes)
						if zoneName == "Etc/UTC" {
							continue // written in UTC: no VTIMEZONE to check
						}
						checkVTimezone(t, b, loc, []group.Meeting{in.Meeting})
					}
					in := invite(t, MethodPublish)
					in.Meeting.ID = month.Format("2006-01")
					in.Meeting.Location, in.Meeting.Start, in.Meeting.End = loc, month.Add(-6*time.Hour), month.Add(-4*time.Hour)
					all = append(all, in)
					allMeetings = append(allMeetings, in.Meeting)
				}
				b := within(t, "feed 2026 to 2100", func() ([]byte, error) { return Feed("Gophers", all) })
				if zoneName != "Etc/UTC" {
					checkVTimezone(t, b, loc, allMeetings)
				}
			})
		}
	}
}

// TestVTimezoneReported replays the cases issue 10 reported.
func TestVTimezoneReported(t *testing.T) {
	for dbName, load := range tzDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			la := load(t, "America/Los_Angeles")
			at := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, la) }
			cases := []struct {
				name  string
				spans [][2]time.Time
			}{
				{"preview invitation 2028-12-30 18:00 PST", [][2]time.Time{{at(2028, 12, 30, 18, 0), at(2028, 12, 30, 20, 0)}}},
				{"feed with 2027 and January 2029", [][2]time.Time{{at(2027, 6, 10, 18, 30), at(2027, 6, 10, 20, 30)}, {at(2029, 1, 11, 18, 30), at(2029, 1, 11, 20, 30)}}},
				{"a year-9999 typo", [][2]time.Time{{at(9999, 12, 30, 18, 0), at(9999, 12, 30, 20, 0)}}},
				{"the last evening of 9999", [][2]time.Time{{at(9999, 12, 31, 14, 0), at(9999, 12, 31, 15, 0)}}},
				{"feed from 2026 to 9999", [][2]time.Time{{at(2026, 12, 10, 18, 30), at(2026, 12, 10, 20, 30)}, {at(9999, 12, 30, 18, 0), at(9999, 12, 30, 20, 0)}}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var invites []Invite
					var ms []group.Meeting
					for i, s := range c.spans {
						in := invite(t, MethodRequest)
						in.Meeting.ID = "m" + string(rune('0'+i))
						in.Meeting.Location, in.Meeting.Start, in.Meeting.End = la, s[0], s[1]
						invites, ms = append(invites, in), append(ms, in.Meeting)
						if len(c.spans) == 1 {
							checkVTimezone(t, within(t, "invite", in.Bytes), la, ms)
						}
					}
					checkVTimezone(t, within(t, "feed", func() ([]byte, error) { return Feed("Gophers", invites) }), la, ms)
				})
			}
		})
	}
}

func TestInviteRefusesYearsICalendarCannotWrite(t *testing.T) {
	in := invite(t, MethodRequest)
	in.Meeting.Start = time.Date(10000, 1, 1, 18, 0, 0, 0, in.Meeting.Location)
	in.Meeting.End = in.Meeting.Start.Add(2 * time.Hour)
	if _, err := in.Bytes(); err == nil || !strings.Contains(err.Error(), "outside the years 0001 to 9999") {
		t.Errorf("error %v, want one about the year", err)
	}
}

// TestRepeatedHour: when clocks go back, 01:30 comes twice. RFC 5545 reads a local
// 01:30 as the first, so the second is written in UTC.
func TestRepeatedHour(t *testing.T) {
	la := zone(t, "America/Los_Angeles")
	first := time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC).In(la) // 01:30 PDT
	second := first.Add(time.Hour)                                // 01:30 PST
	for _, c := range []struct {
		name  string
		start time.Time
		want  string
	}{
		{"first 01:30", first, "DTSTART;TZID=America/Los_Angeles:20261101T013000"},
		{"second 01:30", second, "DTSTART:20261101T093000Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := invite(t, MethodRequest)
			in.Meeting.Location, in.Meeting.Start, in.Meeting.End = la, c.start, c.start.Add(2*time.Hour)
			b, err := in.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if got := one(t, events(contentLines(t, b)), "DTSTART"); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			checkVTimezone(t, b, la, []group.Meeting{in.Meeting})
		})
	}
}
