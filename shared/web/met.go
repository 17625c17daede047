package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// MetStore is what /met reads and writes, shaped like shared/dynamo's Store.
type MetStore interface {
	Attendees(ctx context.Context, meetingID string) ([]string, error)
	Profile(ctx context.Context, memberID string) (group.Profile, error)
	Profiles(ctx context.Context, ids []string) (map[string]group.Profile, error)
	SetListing(ctx context.Context, memberID string, listed bool, line string, now time.Time) error
	Block(ctx context.Context, memberID, other string, now time.Time) error
	Ticks(ctx context.Context, meetingID, memberID string) ([]string, error)
	Tick(ctx context.Context, meetingID, memberID, other string, now time.Time) error
	Untick(ctx context.Context, meetingID, memberID string, others []string, now time.Time) error
	ClearTicks(ctx context.Context, meetingID, memberID string, now time.Time) error
	RecordIntroduction(ctx context.Context, meetingID string, p group.Pair, now time.Time) (bool, error)
}

// metPerson is one listed attendee as /met shows them: never an address, and never
// whether they ticked anyone.
type metPerson struct {
	ID     string // opaque member id: the form's value
	Name   string // first name, last initial
	Line   string
	Ticked bool // by the member viewing the page
}

type metView struct {
	Title, Group, Token string
	Meeting             group.Meeting
	Profile             group.Profile
	People              []metPerson
	Ticks               int
	MaxTicks            int
	MaxLine             int
	Closed              string
	Notice              string // what the POST recorded
	Problem             string // why the POST recorded nothing
}

var metPage = template.Must(template.Must(template.New("layout").Funcs(template.FuncMap{
	"when": when,
}).ParseFS(templateFS, "templates/layout.html")).ParseFS(templateFS, "templates/met.html"))

// met is the stay-in-touch page of one meeting, from the connections email: GET
// shows the listed attendees, POST records the member's listing, ticks, withdrawal
// or a block. Only those who were there (Yes, or coming to the pub) can open it.
func (s *Site) met(w http.ResponseWriter, r *http.Request) {
	token, m, member, ok := s.answerLink(w, r, links.ActionMet)
	if !ok {
		return
	}
	ctx := r.Context()
	now := s.Clock()
	present, err := s.attended(ctx, m.ID, member.ID)
	if err != nil {
		s.Log.Error("read attendance", "meeting", m.ID, "member", member.ID, "error", err)
		s.unavailable(w)
		return
	}
	if !present {
		s.fail(w, http.StatusForbidden, "This page is for those who were there", "Only members who said Yes or came to the after-party can see who else was there.")
		return
	}
	v := metView{Title: "Who did you meet at " + m.Title + "?", Token: token, Meeting: m, MaxTicks: group.MaxTicks, MaxLine: group.MaxLineRunes}
	switch {
	case m.Cancelled():
		v.Closed = "This meeting was cancelled."
	case group.MetClosed(m, now):
		v.Closed = "This page closed two weeks after the meeting. See you at the next one!"
	case !member.Wants(group.Connections):
		v.Closed = "You've turned off connections emails (or all our emails), so you're not listed and we won't introduce you. Turn them back on with the unsubscribe link in any of our emails."
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if v.Closed != "" {
			status = http.StatusConflict
		} else if status, err = s.metRecord(r, m, member, &v); err != nil {
			s.Log.Error("record /met", "meeting", m.ID, "member", member.ID, "error", err)
			s.unavailable(w)
			return
		}
	}
	if err := s.metFill(ctx, m, member, &v); err != nil {
		s.Log.Error("read /met", "meeting", m.ID, "member", member.ID, "error", err)
		s.unavailable(w)
		return
	}
	v.Group = s.GroupName
	var buf bytes.Buffer
	if err := metPage.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Log.Error("render page", "page", "met", "error", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Site) attended(ctx context.Context, meetingID, memberID string) (bool, error) {
	rsvp, err := s.Store.RSVP(ctx, meetingID, memberID)
	switch {
	case err == nil && rsvp.Answer == group.Yes:
		return true, nil
	case err != nil && !errors.Is(err, group.ErrNotFound):
		return false, err
	}
	pub, err := s.Store.PubAnswer(ctx, meetingID, memberID)
	if errors.Is(err, group.ErrNotFound) {
		return false, nil
	}
	return err == nil && pub.Coming, err
}

// visible reads the attendees the member may see: listed, wanting connections,
// and neither blocking the other. The map holds their profiles.
func (s *Site) visible(ctx context.Context, m group.Meeting, me group.Profile) ([]group.Member, map[string]group.Profile, error) {
	ids, err := s.Store.Attendees(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	profiles, err := s.Store.Profiles(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	var listed []string
	for _, id := range ids {
		if p, ok := profiles[id]; ok && p.Listed && id != me.MemberID && !group.Apart(me, p) {
			listed = append(listed, id)
		}
	}
	members, err := s.Store.Members(ctx, listed)
	if err != nil {
		return nil, nil, err
	}
	var out []group.Member
	for _, id := range listed {
		if mem, ok := members[id]; ok && mem.Wants(group.Connections) {
			out = append(out, mem)
		}
	}
	slices.SortFunc(out, func(a, b group.Member) int {
		if c := strings.Compare(a.ShortName(), b.ShortName()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, profiles, nil
}

func (s *Site) metFill(ctx context.Context, m group.Meeting, member group.Member, v *metView) error {
	me, err := s.Store.Profile(ctx, member.ID)
	if err != nil {
		return err
	}
	v.Profile = me
	if v.Closed != "" {
		return nil
	}
	people, profiles, err := s.visible(ctx, m, me)
	if err != nil {
		return err
	}
	ticked, err := s.Store.Ticks(ctx, m.ID, member.ID)
	if err != nil {
		return err
	}
	v.Ticks = len(ticked)
	for _, p := range people {
		v.People = append(v.People, metPerson{ID: p.ID, Name: p.ShortName(), Line: profiles[p.ID].Line, Ticked: slices.Contains(ticked, p.ID)})
	}
	return nil
}

// metRecord records one POST: action=list (with line), action=unlist (withdraw:
// unlisted at once, every tick of this meeting cleared), action=ticks (the ticked
// boxes are the member's whole choice), or block=<member id>. It returns the page's
// status; an error is one of the store's.
func (s *Site) metRecord(r *http.Request, m group.Meeting, member group.Member, v *metView) (int, error) {
	ctx := r.Context()
	now := s.Clock()
	me, err := s.Store.Profile(ctx, member.ID)
	if err != nil {
		return 0, err
	}
	if other := r.PostFormValue("block"); other != "" {
		if other == member.ID {
			v.Problem = "You can't block yourself."
			return http.StatusBadRequest, nil
		}
		ids, err := s.Store.Attendees(ctx, m.ID)
		if err != nil {
			return 0, err
		}
		if !slices.Contains(ids, other) {
			v.Problem = "We couldn't find that person on this page."
			return http.StatusBadRequest, nil
		}
		if err := s.Store.Block(ctx, member.ID, other, now); err != nil {
			return 0, err
		}
		if err := s.Store.Untick(ctx, m.ID, member.ID, []string{other}, now); err != nil {
			return 0, err
		}
		s.Log.Info("met: blocked", "meeting", m.ID, "member", member.ID)
		v.Notice = "Blocked. You won't see each other here again, and we'll never introduce you."
		return http.StatusOK, nil
	}
	switch r.PostFormValue("action") {
	case "list":
		line := group.CleanLine(r.PostFormValue("line"))
		if err := s.Store.SetListing(ctx, member.ID, true, line, now); err != nil {
			return 0, err
		}
		s.Log.Info("met: listed", "meeting", m.ID, "member", member.ID)
		v.Notice = "You're listed. Others who were there and listed themselves can see you and your line, never your address."
	case "unlist":
		if err := s.Store.SetListing(ctx, member.ID, false, me.Line, now); err != nil {
			return 0, err
		}
		if err := s.Store.ClearTicks(ctx, m.ID, member.ID, now); err != nil {
			return 0, err
		}
		s.Log.Info("met: withdrew", "meeting", m.ID, "member", member.ID)
		v.Notice = "You're no longer listed, your ticks are gone, and we won't introduce you to anyone."
	case "ticks":
		return s.metTicks(r, m, member, me, v)
	default:
		v.Problem = "We didn't understand that. Please use the buttons on this page."
		return http.StatusBadRequest, nil
	}
	return http.StatusOK, nil
}

func (s *Site) metTicks(r *http.Request, m group.Meeting, member group.Member, me group.Profile, v *metView) (int, error) {
	ctx := r.Context()
	now := s.Clock()
	if !me.Listed {
		v.Problem = "List yourself first: you can only tick people who can see you too."
		return http.StatusConflict, nil
	}
	want := map[string]bool{}
	for _, id := range r.PostForm["tick"] {
		want[id] = true
	}
	if len(want) > group.MaxTicks {
		v.Problem = "You can tick at most 30 people per meeting. Nothing was changed."
		return http.StatusBadRequest, nil
	}
	people, _, err := s.visible(ctx, m, me)
	if err != nil {
		return 0, err
	}
	shown := map[string]bool{}
	for _, p := range people {
		shown[p.ID] = true
	}
	for id := range want {
		if !shown[id] {
			v.Problem = "Someone you ticked is no longer on this page. Nothing was changed."
			return http.StatusConflict, nil
		}
	}
	current, err := s.Store.Ticks(ctx, m.ID, member.ID)
	if err != nil {
		return 0, err
	}
	var drop []string
	for _, id := range current {
		if !want[id] {
			drop = append(drop, id)
		}
	}
	if err := s.Store.Untick(ctx, m.ID, member.ID, drop, now); err != nil {
		return 0, err
	}
	for id := range want {
		if slices.Contains(current, id) {
			continue
		}
		err := s.Store.Tick(ctx, m.ID, member.ID, id, now)
		if errors.Is(err, group.ErrTooManyTicks) {
			v.Problem = "You can tick at most 30 people per meeting."
			return http.StatusConflict, nil
		}
		if err != nil {
			return 0, err
		}
		if err := s.introduceIfMutual(ctx, m, member.ID, id, now); err != nil {
			return 0, err
		}
	}
	s.Log.Info("met: ticks recorded", "meeting", m.ID, "member", member.ID, "ticks", len(want))
	v.Notice = "Saved. If someone you ticked ticks you too, we'll introduce you both by email."
	return http.StatusOK, nil
}

// introduceIfMutual records the pair's introduction if the other member ticked this
// one too. The tick is written before the other's ticks are read, so of two members
// ticking each other at once at least one sees the other's tick; the introduction
// is one conditional write on the pair's item, so at most one records it. The
// scheduled pub function sends it through the ledger.
func (s *Site) introduceIfMutual(ctx context.Context, m group.Meeting, me, other string, now time.Time) error {
	theirs, err := s.Store.Ticks(ctx, m.ID, other)
	if err != nil || !slices.Contains(theirs, me) {
		return err
	}
	recorded, err := s.Store.RecordIntroduction(ctx, m.ID, group.PairOf(me, other), now)
	if recorded {
		s.Log.Info("met: introduction recorded", "meeting", m.ID, "member", me)
	}
	return err
}
