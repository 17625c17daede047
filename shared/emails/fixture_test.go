package emails_test

import (
	"net/mail"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/emails"
	"github.com/afterparty/afterparty/shared/group"
)

// fixture is a valid message of kind k for a meeting starting at start (local
// "2006-01-02T15:04") in zone, sent when the meeting cycle would send it.
func fixture(t testing.TB, k group.Kind, zone, start string) emails.Message {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	s, err := time.ParseInLocation("2006-01-02T15:04", start, loc)
	if err != nil {
		t.Fatal(err)
	}
	m := group.Meeting{
		ID:           s.Format("2006-01-02"),
		Title:        "Go and the Art of Tiny Binaries",
		Start:        s,
		End:          s.Add(2 * time.Hour),
		Location:     loc,
		Venue:        "Ada's Café",
		VenueAddress: "12 Main St, Portland, OR 97214",
		Speaker:      "Jane Doe",
		SpeakerIntro: "Jane keeps bees, and once shipped a 900 KB binary to a weather balloon.",
		Topic:        "How small can a Go binary get, and should you care?",
		PubName:      "The Lucky Lab",
		PubAddress:   "915 SE Hawthorne Blvd, Portland, OR 97214",
		Status:       group.StatusScheduled,
	}
	link := func(action string) string {
		return "https://afterparty.example/l/" + action + "?t=k1.m1." + m.ID + "&sig=Zm9v"
	}
	now := map[group.Kind]time.Time{
		group.Invitation:   s.Add(-14 * 24 * time.Hour),
		group.Reminder:     s.Add(-48 * time.Hour),
		group.Teaser:       s.Add(-24 * time.Hour),
		group.Pub:          m.End,
		group.Connections:  group.DefaultLeadTimes.ConnectionsOpen(m),
		group.Introduction: m.End.Add(18 * time.Hour),
	}[k]
	var organizer *mail.Address
	if k == group.Invitation {
		organizer = &mail.Address{Name: "Rose City Gophers", Address: "rsvp+vbi4lcyhydnuhwp4aqlxe3pe5amv2gq3ddyhh2xlpm@reply.afterparty.example"}
	}
	return emails.Message{
		Organizer: organizer,
		Kind:      k,
		Group: emails.Group{
			Name:       "Rose City Gophers",
			From:       mail.Address{Name: "Rose City Gophers", Address: "organizers@afterparty.example"},
			Organizers: []string{"Ann Organizer <ann@afterparty.example>", "bob@afterparty.example"},
		},
		Meeting: m,
		Member:  group.Member{ID: "m1", Email: "jose@example.com", Name: "José Núñez", Status: group.MemberActive},
		Links: emails.Links{
			Yes:                 link("yes"),
			Maybe:               link("maybe"),
			No:                  link("no"),
			Pub:                 link("pub"),
			Unsubscribe:         link("unsubscribe"),
			UnsubscribeOneClick: link("unsubscribe-one-click"),
			Calendar:            link("ics"),
			MeetingPage:         "https://afterparty.example/m/" + m.ID,
			Met:                 link("met"),
		},
		Icebreaker: "What's the worst name you've ever given a variable?",
		Now:        now,
	}
}

func renderer(t testing.TB) *emails.Renderer {
	t.Helper()
	r, err := emails.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
