package ical

import (
	"net/url"
	"testing"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

func TestAddToCalendarLinks(t *testing.T) {
	loc, _ := time.LoadLocation("America/Los_Angeles")
	m := group.Meeting{ID: "x", Title: "Go, Tacos & Ünïcode; night", Start: time.Date(2026, 11, 2, 18, 30, 0, 0, loc), Location: loc, Venue: "Hall", VenueAddress: "1 Main St"}
	m.End = m.Start.Add(2 * time.Hour)

	g, err := url.Parse(GoogleCalendarURL(m, "See you"))
	if err != nil {
		t.Fatal(err)
	}
	q := g.Query()
	if q.Get("text") != m.Title || q.Get("dates") != "20261103T023000Z/20261103T043000Z" || q.Get("ctz") != "America/Los_Angeles" || q.Get("location") != "Hall, 1 Main St" {
		t.Errorf("google link query = %v", q)
	}
	o, err := url.Parse(OutlookURL(m, "See you"))
	if err != nil {
		t.Fatal(err)
	}
	q = o.Query()
	if q.Get("subject") != m.Title || q.Get("startdt") != "2026-11-02T18:30:00-08:00" || q.Get("enddt") != "2026-11-02T20:30:00-08:00" || q.Get("rru") != "addevent" {
		t.Errorf("outlook link query = %v", q)
	}
}
