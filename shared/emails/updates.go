package emails

import (
	"strings"
	"unicode/utf8"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
)

// Changes says what an update tells members, one line each: what differs between
// before (what their calendars were last sent) and after, in what a calendar
// event shows of a meeting: whether it is on, its time (start, end, zone) and its
// venue. It is empty when nothing of that changed (a new topic is no update).
func Changes(before, after group.Meeting) []string {
	var out []string
	if before.Cancelled() != after.Cancelled() {
		if after.Cancelled() {
			out = append(out, "Cancelled.")
		} else {
			out = append(out, "Back on: the meeting is no longer cancelled.")
		}
	}
	if !before.Start.Equal(after.Start) || !before.End.Equal(after.End) || zoneName(before) != zoneName(after) {
		out = append(out, "New time: "+when(after)+" (was "+when(before)+")")
	}
	if before.Venue != after.Venue || before.VenueAddress != after.VenueAddress {
		out = append(out, "New venue: "+orUnset(where(after))+" (was "+orUnset(where(before))+")")
	}
	return out
}

func zoneName(m group.Meeting) string {
	if m.Location == nil {
		return ""
	}
	return m.Location.String()
}

func orUnset(s string) string {
	if s == "" {
		return "not set"
	}
	return s
}

// GoogleCalendarURL adds the meeting to Google Calendar (a copy the invitation's
// updates do not reach; the invite itself is what keeps calendars in step).
func (m Message) GoogleCalendarURL() string {
	return ical.GoogleCalendarURL(m.Meeting, m.calendarDetails())
}

// OutlookURL adds the meeting to Outlook.com's calendar.
func (m Message) OutlookURL() string { return ical.OutlookURL(m.Meeting, m.calendarDetails()) }

// maxDetails bounds the topic in add-to-calendar links, which carry it in the URL.
const maxDetails = 300

// calendarDetails is the event description of the add-to-calendar links: the topic
// (shortened) and the meeting's page, no member data: the link may be shared.
func (m Message) calendarDetails() string {
	topic := oneLine(m.Meeting.Topic)
	if utf8.RuneCountInString(topic) > maxDetails {
		topic = string([]rune(topic)[:maxDetails-1]) + "…"
	}
	var parts []string
	if topic != "" {
		parts = append(parts, topic)
	}
	if m.Links.MeetingPage != "" {
		parts = append(parts, "Meeting page: "+m.Links.MeetingPage)
	}
	return strings.Join(parts, "\n\n")
}
