package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// MeetingFreshDefault is how long the RSVP page keeps a meeting's parsed schedule
// row. For that long after an organizer's edit, this process's RSVP page can show
// and act on the row as it was: a meeting cancelled or moved to an earlier start
// still takes answers for up to 30 s, a new capacity is applied to answers up to
// 30 s late (a lowered capacity can seat up to 30 s of Yes beyond it; nobody is
// unseated). Emails, the meeting page and the calendar feed do not use it.
const MeetingFreshDefault = 30 * time.Second

// meetingCache keeps parsed meetings by id, each with when it was read.
type meetingCache struct {
	mu      sync.Mutex
	entries map[string]cachedMeeting
}

type cachedMeeting struct {
	m    group.Meeting
	read time.Time
}

func (s *Site) meetingFresh() time.Duration {
	if s.MeetingFresh == 0 {
		return MeetingFreshDefault
	}
	return s.MeetingFresh
}

func (c *meetingCache) get(id string, now time.Time, fresh time.Duration) (group.Meeting, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.read) >= fresh || now.Before(e.read) {
		return group.Meeting{}, false
	}
	return e.m, true
}

func (c *meetingCache) put(id string, m group.Meeting, now time.Time, fresh time.Duration) {
	if fresh <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedMeeting{}
	}
	if len(c.entries) >= 256 { // ids come from signed links: only real meetings; drop the stale ones
		for k, e := range c.entries {
			if now.Sub(e.read) >= fresh {
				delete(c.entries, k)
			}
		}
	}
	c.entries[id] = cachedMeeting{m: m, read: now}
}

// rsvpLink is answerLink for the RSVP page, reading in one DynamoDB round trip
// what the page and an answer need: the meeting's row (unless this process read it
// less than MeetingFresh ago), the member, their RSVP and the meeting's places
// (dynamo.Store.ReadAnswerStart). If that read fails it falls back to answerLink's
// reads one by one, which answer each failure with its own page; start is then nil.
func (s *Site) rsvpLink(w http.ResponseWriter, r *http.Request) (token string, m group.Meeting, member group.Member, start *group.AnswerStart, ok bool) {
	c, token, ok := s.claims(w, r, links.ActionRSVP)
	if !ok {
		return "", m, member, nil, false
	}
	if group.MeetingIDProblem(c.Meeting) != "" {
		_, _ = s.meeting(w, r, c.Meeting) // the 404 page
		return "", m, member, nil, false
	}
	now := s.Clock()
	m, cached := s.meetings.get(c.Meeting, now, s.meetingFresh())
	st, err := s.Store.ReadAnswerStart(r.Context(), c.Meeting, c.Member, !cached)
	if err != nil {
		s.Log.Warn("read RSVP page in one trip; reading one by one", "meeting", c.Meeting, "member", c.Member, "error", err)
		if !cached {
			if m, ok = s.meeting(w, r, c.Meeting); !ok {
				return "", m, member, nil, false
			}
		}
		if member, ok = s.member(w, r, c.Member); !ok {
			return "", m, member, nil, false
		}
		return token, m, member, nil, true
	}
	if !cached {
		rowErr := error(nil)
		if st.Row == nil {
			rowErr = group.ErrNotFound
		}
		if m, ok = s.meetingOfRow(w, c.Meeting, st.Row, rowErr); !ok {
			return "", m, member, nil, false
		}
		s.meetings.put(c.Meeting, m, now, s.meetingFresh())
	}
	memberErr := error(nil)
	if !st.MemberFound {
		memberErr = group.ErrNotFound
	}
	if member, ok = s.memberOf(w, c.Member, st.Member, memberErr); !ok {
		return "", m, member, nil, false
	}
	return token, m, member, &st, true
}
