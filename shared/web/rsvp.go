package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/afterparty/afterparty/shared/cycle"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/ical"
)

// rsvp is the page an RSVP link opens. GET shows the meeting, the places left and
// the member's answer pre-selected, with a button; only the POST records. After a
// POST the page says what was recorded (going, or waitlisted and where), how many
// are going, offers the calendar links, and lets the member change the answer.
func (s *Site) rsvp(w http.ResponseWriter, r *http.Request) {
	token, m, member, start, ok := s.rsvpLink(w, r)
	if !ok {
		return
	}
	v := view{Title: "RSVP: " + m.Title, Token: token, Meeting: m, Member: member, GuestsMax: m.GuestsMax}
	now := s.Clock()
	switch {
	case m.Cancelled():
		v.Closed = "This meeting has been cancelled, so answers are closed. Sorry! We hope to see you at the next one."
	case !now.Before(m.Start):
		v.Closed = "This meeting has already started, so answers are closed. See you at the next one!"
	}
	if start != nil {
		v.RSVP = start.RSVP
		v.Places = placesOf(m, start.Going, start.Waiting)
	} else if current, err := s.Store.RSVP(r.Context(), m.ID, member.ID); err == nil {
		v.RSVP = &current
	} else if !errors.Is(err, group.ErrNotFound) {
		s.Log.Error("read RSVP", "meeting", m.ID, "member", member.ID, "error", err)
	}
	wanted, valid := group.ParseAnswer(r.FormValue("answer"))
	guests := 0
	if v.RSVP != nil {
		guests = v.RSVP.Guests
	}
	if g := r.FormValue("guests"); g != "" {
		n, err := strconv.Atoi(g)
		if err != nil || n < 0 || n > m.GuestsMax {
			if r.Method == http.MethodPost {
				s.fail(w, http.StatusBadRequest, "Please choose your guests again", "That number of guests isn't possible for this meeting. Please go back and pick from the list.")
				return
			}
			n = 0
		}
		guests = n
	}
	guests = min(guests, m.GuestsMax)
	if r.Method == http.MethodPost {
		switch {
		case v.Closed != "":
			s.render(w, http.StatusConflict, "rsvp", s.withChoices(r, v, wanted, guests))
			return
		case !valid:
			s.fail(w, http.StatusBadRequest, "Please choose an answer", "Pick Yes, Maybe or No and press the button.")
			return
		}
		var b group.Booking
		var err error
		if start != nil {
			b, err = s.Store.AnswerFrom(r.Context(), *start, wanted, guests, m.Capacity, group.SourceLink, now)
		} else {
			b, err = s.Store.Answer(r.Context(), m.ID, member.ID, wanted, guests, m.Capacity, group.SourceLink, now)
		}
		if err != nil {
			s.Log.Error("record RSVP", "meeting", m.ID, "member", member.ID, "error", err)
			s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not record your answer just now. Please try again in a minute.")
			return
		}
		s.Log.Info("RSVP recorded", "meeting", m.ID, "member", member.ID, "answer", b.RSVP.Answer, "place", b.RSVP.Place, "guests", b.RSVP.Guests)
		s.notifyPromoted(r, m, b.Promoted)
		v.RSVP, v.Recorded, v.Position, v.Refused = &b.RSVP, true, b.Position, b.GuestsRefused
		v.Places = placesOf(m, b.Going, b.Waiting)
		guests = b.RSVP.Guests
	} else if v.RSVP != nil && v.RSVP.Place == group.PlaceWaitlisted {
		if p, err := s.Store.Places(r.Context(), m.ID); err == nil {
			v.Position = p.Position(member.ID)
		}
	}
	s.render(w, http.StatusOK, "rsvp", s.withChoices(r, v, wanted, guests))
}

func (s *Site) withChoices(r *http.Request, v view, wanted group.Answer, guests int) view {
	selected := wanted
	if v.Recorded || selected == "" {
		if v.RSVP != nil {
			selected = v.RSVP.Answer
		}
	}
	if selected == "" {
		selected = group.Yes
	}
	for _, a := range []group.Answer{group.Yes, group.Maybe, group.No} {
		v.Choices = append(v.Choices, choice{Value: a, Label: answerText(a), Checked: a == selected})
	}
	for n := 0; n <= v.Meeting.GuestsMax; n++ {
		v.Guests = append(v.Guests, guestChoice{N: n, Selected: n == guests})
	}
	if v.Places == nil {
		v.Places = s.places(r.Context(), v.Meeting)
	}
	// Calendar links for those who may come: not for No, not (yet) for the waitlist.
	if v.RSVP != nil && v.RSVP.Answer != group.No && v.RSVP.Place != group.PlaceWaitlisted && !v.Meeting.Cancelled() {
		b := s.builder(r)
		ml := cycle.MemberLinks(b, v.Meeting, v.Member, s.Clock())
		details := "Details: " + b.BaseURL + "/m/" + v.Meeting.ID
		v.Calendar = &calendarLinks{ICS: ml.Calendar, Google: ical.GoogleCalendarURL(v.Meeting, details), Outlook: ical.OutlookURL(v.Meeting, details)}
	}
	return v
}
