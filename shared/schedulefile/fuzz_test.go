package schedulefile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/afterparty/afterparty/shared/group"
)

// FuzzReadAndValidate feeds arbitrary files through the reader and the validator
// the CLI uses: neither may panic, a meeting the validator accepts carries nothing
// that could break a header or inject markup, and a file Write produces reads
// back to the same rows (so `schedule export` round-trips with `apply`).
func FuzzReadAndValidate(f *testing.F) {
	seeds := []string{
		"meetings:\n  - meeting_id: 2026-12-10\n    title: Tracing\n    starts_at: 2026-12-10T18:30\n    venue: Hall\n    capacity: 40\n",
		"- meeting_id: x\n  title: \"a\\r\\nBcc: y@z\"\n  starts_at: 2026-03-08T02:30\n  venue: Hall\n",
		"- meeting_id: y\n  title: <b>hi</b>\n  starts_at: 2030-01-01T10:00\n  venue: [a, b]\n  capacity: -3\n  pub_address: here\n",
		"meetings: {a: 1}\n",
		"- &a {meeting_id: z, title: t}\n- *a\n",
		"- meeting_id: q\n  title: ok\n  starts_at: 2030-01-01T10:00\n  ends_at: 2030-01-01T09:00\n  venue: \"Go <3\"\n  time_zone: Mars/Base\n",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		rows, err := Read(strings.NewReader(file))
		if err != nil {
			return
		}
		for _, r := range rows {
			m, ps := group.ParseMeeting(r, "America/Los_Angeles")
			if len(ps) == 0 {
				for name, v := range map[string]string{"title": m.Title, "venue": m.Venue, "speaker": m.Speaker, "pub_name": m.PubName, "pub_url": m.PubURL, "time zone": m.Location.String()} {
					if strings.ContainsAny(v, "\r\n\x00") {
						t.Fatalf("valid meeting's %s %q could break a header", name, v)
					}
				}
				for _, v := range []string{m.Title, m.Venue, m.VenueAddress, m.Speaker, m.SpeakerIntro, m.Topic, m.Icebreaker, m.PubName, m.PubAddress, m.PubURL} {
					if i := strings.Index(v, "<"); i >= 0 && i+1 < len(v) && strings.ContainsAny(v[i+1:i+2], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!?") {
						t.Fatalf("valid meeting carries markup %q", v)
					}
				}
				if m.Title == "" || (m.Venue == "" && !m.Cancelled()) || !m.End.After(m.Start) || m.Capacity < 0 {
					t.Fatalf("valid meeting %+v", m)
				}
			}
			var buf bytes.Buffer
			if err := Write(&buf, []group.Row{r}); err != nil {
				t.Fatalf("write %v: %v", r, err)
			}
			back, err := Read(&buf)
			if err != nil || len(back) != 1 {
				t.Fatalf("read back %q: %v %v", buf.String(), back, err)
			}
			for k, v := range r {
				if v.Type == "other" {
					continue // lists and maps are refused by the validator anyway
				}
				if back[0][k].Text != v.Text {
					t.Fatalf("field %s: wrote %q, read back %q", k, v.Text, back[0][k].Text)
				}
			}
			if _, ps2 := group.ParseMeeting(back[0], "America/Los_Angeles"); (len(ps) == 0) != (len(ps2) == 0) {
				t.Fatalf("round trip changed validity: %v / %v", ps, ps2)
			}
		}
	})
}
