package ical

import (
	"net/url"
	"time"

	"github.com/afterparty/afterparty/shared/group"
)

// GoogleCalendarURL opens Google Calendar's "add event" page filled in with the
// meeting (times in UTC, shown in the meeting's zone).
func GoogleCalendarURL(m group.Meeting, details string) string {
	const layout = "20060102T150405Z"
	q := url.Values{
		"action":   {"TEMPLATE"},
		"text":     {m.Title},
		"dates":    {m.Start.UTC().Format(layout) + "/" + m.End.UTC().Format(layout)},
		"details":  {details},
		"location": {Location(m)},
	}
	if m.Location != nil && m.Location.String() != "UTC" && m.Location.String() != "Local" {
		q.Set("ctz", m.Location.String())
	}
	return "https://calendar.google.com/calendar/render?" + q.Encode()
}

// OutlookURL opens Outlook.com's "new event" page filled in with the meeting.
func OutlookURL(m group.Meeting, details string) string {
	q := url.Values{
		"path":     {"/calendar/action/compose"},
		"rru":      {"addevent"},
		"subject":  {m.Title},
		"startdt":  {m.Start.Format(time.RFC3339)},
		"enddt":    {m.End.Format(time.RFC3339)},
		"body":     {details},
		"location": {Location(m)},
	}
	return "https://outlook.live.com/calendar/0/deeplink/compose?" + q.Encode()
}
