// Package web is the member-facing site: RSVP, pub and unsubscribe pages reached
// from signed links, the public meeting page and the group's calendar feed. A GET
// never records anything (mail scanners fetch every link); only a POST does. The same
// net/http handler runs in the Lambda (behind aws-lambda-go-api-proxy) and in
// `afterparty serve`.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/links"
)

// Store is what the pages read and write, shaped like shared/dynamo's Store.
type Store interface {
	ScheduleRow(ctx context.Context, meetingID string) (group.Row, error)
	FeedRows(ctx context.Context) ([]group.Row, error)
	Member(ctx context.Context, id string) (group.Member, error)
	Members(ctx context.Context, ids []string) (map[string]group.Member, error)
	RSVP(ctx context.Context, meetingID, memberID string) (group.RSVP, error)
	Answer(ctx context.Context, meetingID, memberID string, a group.Answer, guests, capacity int, source string, now time.Time) (group.Booking, error)
	ReadAnswerStart(ctx context.Context, meetingID, memberID string, withRow bool) (group.AnswerStart, error)
	AnswerFrom(ctx context.Context, st group.AnswerStart, a group.Answer, guests, capacity int, source string, now time.Time) (group.Booking, error)
	Places(ctx context.Context, meetingID string) (group.Places, error)
	PlaceCounts(ctx context.Context, meetingID string) (going, waiting int, err error)
	PubAnswer(ctx context.Context, meetingID, memberID string) (group.PubAnswer, error)
	PubAnswers(ctx context.Context, meetingID string) (map[string]bool, error)
	SetPubAnswer(ctx context.Context, meetingID, memberID string, coming bool, now time.Time) error
	SetMemberStatus(ctx context.Context, id, status string, now time.Time) error
	SetMuted(ctx context.Context, id string, muted []group.Kind, now time.Time) error
	RequestJoin(ctx context.Context, email, name string, now time.Time) (group.Member, bool, error)
	ConfirmJoin(ctx context.Context, id string, now time.Time) (group.Member, bool, error)
	JoinRequest(ctx context.Context, id string, now time.Time) (group.Member, error)
	CountJoinRequest(ctx context.Context, client string, limit int, now time.Time) (bool, error)
	CountJoinEmail(ctx context.Context, limit int, now time.Time) (bool, error)
	Reconcile(ctx context.Context, meetingID string, capacity int, now time.Time) (group.ReconcileReport, error)
	RecordIntent(ctx context.Context, in group.Intent) (bool, error) // the outbox: emails to send
	MetStore                                                         // /met (met.go)
}

// Calendar renders .ics files for the site; shared/ical's adapter satisfies it.
type Calendar interface {
	MemberInvite(m group.Meeting, member group.Member, now time.Time) ([]byte, error)
	Feed(ms []group.Meeting, now time.Time) ([]byte, error)
}

// Site serves the pages.
type Site struct {
	Store     Store
	Signer    *links.Signer
	Calendar  Calendar
	GroupName string
	TimeZone  string
	Clock     func() time.Time
	Log       *slog.Logger
	// PubLinkLife is how long after a meeting's end the pub link still records.
	PubLinkLife time.Duration

	// Nudge, if set, is called after a request recorded an email in the outbox:
	// `afterparty serve` sweeps it at once (the outbox function is woken by the
	// table's stream instead).
	Nudge func()
	// BaseURL is the base of the links the site's emails carry. Behind a Lambda
	// function URL the request's domain (set by AWS, not by the client) is used.
	BaseURL string

	// JoinPerClientHour is how many /join POSTs one client (source IP) may make
	// per clock hour; JoinPerHour how many join confirmations the form may email
	// per clock hour in all. Zero takes the defaults below.
	JoinPerClientHour, JoinPerHour int

	// Keys, if set, reloads the signing keys; it is called (at most once a minute)
	// when a link names a key the site does not hold: the secret was rotated since
	// the function started.
	Keys       func(context.Context) (*links.Signer, error)
	reloaded   atomic.Pointer[links.Signer]
	reloadedAt atomic.Int64

	// MeetingFresh is how long the RSVP page keeps a meeting's parsed schedule row
	// in this process before reading it again: 0 takes MeetingFreshDefault, a
	// negative value reads it every time.
	MeetingFresh time.Duration
	meetings     meetingCache
}

// KeyReloadEvery is how often at most a link with an unknown key reloads the keys.
const KeyReloadEvery = time.Minute

func (s *Site) signer() *links.Signer {
	if k := s.reloaded.Load(); k != nil {
		return k
	}
	return s.Signer
}

// reloadKeys reads the signing keys again and reports whether it did.
func (s *Site) reloadKeys(ctx context.Context) bool {
	last := s.reloadedAt.Load()
	now := s.Clock().UnixNano()
	if s.Keys == nil || (last != 0 && now-last < int64(KeyReloadEvery)) || !s.reloadedAt.CompareAndSwap(last, now) {
		return false
	}
	k, err := s.Keys(ctx)
	if err != nil {
		s.Log.Error("reload link-signing keys", "error", err)
		return false
	}
	s.reloaded.Store(k)
	s.Log.Info("link-signing keys reloaded")
	return true
}

//go:embed templates/*.html
var templateFS embed.FS

var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"when":       when,
		"local":      func(t time.Time, m group.Meeting) string { return t.In(m.Location).Format("Mon 2 Jan 15:04 MST") },
		"answerText": answerText,
		// guestsOf is how many guests hold a place with a going member.
		"guestsOf": func(r group.RSVP) int { return max(r.Seats-1, 0) },
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/meeting.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"rsvp", "pub", "unsubscribe", "page", "error", "join", "confirm"} {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return out
}()

func when(m group.Meeting) string {
	start, end := m.Start.In(m.Location), m.End.In(m.Location)
	if start.YearDay() == end.YearDay() && start.Year() == end.Year() {
		return start.Format("Monday 2 January 2006, 15:04") + "–" + end.Format("15:04 MST")
	}
	return start.Format("Mon 2 Jan 2006 15:04") + " – " + end.Format("Mon 2 Jan 2006 15:04 MST")
}

func answerText(a group.Answer) string {
	switch a {
	case group.Yes:
		return "Yes, I'm coming"
	case group.Maybe:
		return "Maybe"
	case group.No:
		return "No, not this time"
	}
	return string(a)
}

// Handler routes the site.
func (s *Site) Handler() http.Handler {
	if s.Clock == nil {
		s.Clock = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.PubLinkLife == 0 {
		s.PubLinkLife = 24 * time.Hour
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rsvp", s.rsvp)
	mux.HandleFunc("POST /rsvp", s.rsvp)
	mux.HandleFunc("GET /pub", s.pub)
	mux.HandleFunc("POST /pub", s.pub)
	mux.HandleFunc("GET /unsubscribe", s.unsubscribe)
	mux.HandleFunc("POST /unsubscribe", s.unsubscribe)
	mux.HandleFunc("GET /join", s.join)
	mux.HandleFunc("POST /join", s.join)
	mux.HandleFunc("GET /join/confirm", s.confirmJoin)
	mux.HandleFunc("POST /join/confirm", s.confirmJoin)
	mux.HandleFunc("GET /met", s.met)
	mux.HandleFunc("POST /met", s.met)
	mux.HandleFunc("GET /invite.ics", s.invite)
	mux.HandleFunc("GET /m/{id}", s.meetingPage)
	mux.HandleFunc("GET /calendar.ics", s.feed)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/calendar.ics", http.StatusFound) })
	return securityHeaders(s.limitBody(mux))
}

// MaxBody is the most a request may post: every form here is a few fields.
const MaxBody = 16 << 10

// limitBody caps what a request may post. A body over MaxBody gets 413 and a page
// that says so before any handler runs, so nothing is recorded and no handler
// mistakes the cut-off form for a link without its token.
func (s *Site) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.Log.Info("request body too large", "path", r.URL.Path, "limit", tooBig.Limit)
			s.fail(w, http.StatusRequestEntityTooLarge, "That was too large",
				"What your browser sent is too large for this page: our forms are a few lines. Please go back and send the form again, or use the link from your email.")
			return
		case err != nil:
			s.fail(w, http.StatusBadRequest, "That did not arrive whole", "What your browser sent was cut off. Please try again.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type view struct {
	Webcal   template.URL // the group calendar's webcal:// subscribe link (built here, not from input)
	Title    string
	Group    string
	Message  string
	Token    string
	Meeting  group.Meeting
	Member   group.Member
	RSVP     *group.RSVP
	Recorded bool
	Closed   string
	Choices  []choice
	Coming   bool
	MapURL   string
	Active   bool
	// Suppressed: the member's address bounced or complained; no link can change it.
	Suppressed bool

	// RSVP page
	Places      *placesView
	Guests      []guestChoice
	Calendar    *calendarLinks
	Position    int // on the waitlist, 1 = next
	Refused     int // guests that did not fit
	GuestsMax   int
	PubComing   int
	Kinds       []kindChoice
	Form        joinForm
	Sent        bool
	JoinedNow   bool
	Unsubscribe string
}

type choice struct {
	Value   group.Answer
	Label   string
	Checked bool
}

type guestChoice struct {
	N        int
	Selected bool
}

// placesView is what a page says about a meeting's places: counts, never names.
type placesView struct {
	Going    int
	Waiting  int
	Capacity int
	Left     int
	Full     bool
}

type calendarLinks struct {
	ICS, Google, Outlook string
}

func (s *Site) render(w http.ResponseWriter, status int, page string, v view) {
	v.Group = s.GroupName
	var buf bytes.Buffer
	if err := pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Log.Error("render page", "page", page, "error", err)
		http.Error(w, "Something went wrong on our side. Nothing was recorded.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Site) fail(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "error", view{Title: title, Message: message})
}

func (s *Site) unavailable(w http.ResponseWriter) {
	s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not reach our records just now. Please try again in a minute.")
}

// claims verifies the request's token for action and answers with the right page
// when it does not hold: 400 damaged, 403 forged or for another action, 410 expired.
func (s *Site) claims(w http.ResponseWriter, r *http.Request, action string) (links.Claims, string, bool) {
	token := r.FormValue("t")
	if token == "" {
		s.fail(w, http.StatusBadRequest, "This link is incomplete", "The link has no token. Please use the whole link from your email; some mail programs split long links.")
		return links.Claims{}, "", false
	}
	c, err := s.signer().Verify(token, s.Clock())
	if errors.Is(err, links.ErrUnknownKey) && s.reloadKeys(r.Context()) {
		c, err = s.signer().Verify(token, s.Clock())
	}
	switch {
	case errors.Is(err, links.ErrExpired):
		s.fail(w, http.StatusGone, "This link has expired", "Links in our emails stop working some time after the meeting. The newest email from us has a fresh one.")
		return c, "", false
	case errors.Is(err, links.ErrMalformed):
		s.fail(w, http.StatusBadRequest, "This link is damaged", "The link is incomplete or damaged. Please use the whole link from your email.")
		return c, "", false
	case err != nil:
		s.Log.Warn("rejected link", "reason", err.Error(), "path", r.URL.Path)
		s.fail(w, http.StatusForbidden, "This link is not valid", "The link does not match one we sent. Please use the link from your email, unchanged.")
		return c, "", false
	case c.Action != action:
		s.fail(w, http.StatusForbidden, "This link is for something else", "This link cannot be used here. Please use the matching button in your email.")
		return c, "", false
	}
	return c, token, true
}

// answerLink checks a link that acts for one member on one meeting (RSVP, pub,
// calendar) and reads both; on any failure it has answered with the right page.
func (s *Site) answerLink(w http.ResponseWriter, r *http.Request, action string) (token string, m group.Meeting, member group.Member, ok bool) {
	c, token, ok := s.claims(w, r, action)
	if !ok {
		return "", m, member, false
	}
	if m, ok = s.meeting(w, r, c.Meeting); !ok {
		return "", m, member, false
	}
	if member, ok = s.member(w, r, c.Member); !ok {
		return "", m, member, false
	}
	return token, m, member, true
}

// memberLink checks a link that acts for one member (unsubscribe, join
// confirmation) and reads the member; on any failure it has answered.
func (s *Site) memberLink(w http.ResponseWriter, r *http.Request, action string) (token string, member group.Member, ok bool) {
	c, token, ok := s.claims(w, r, action)
	if !ok {
		return "", member, false
	}
	if member, ok = s.member(w, r, c.Member); !ok {
		return "", member, false
	}
	return token, member, true
}

// meeting reads a meeting for a page. An id no meeting can have (the schedule's
// meeting_id rule refuses it, or DynamoDB refuses it as a key) is the client's
// mistake and gets 404 without an error log; so does a row with problems, which
// no page shows. Only a failure to reach the table is 503.
func (s *Site) meeting(w http.ResponseWriter, r *http.Request, id string) (group.Meeting, bool) {
	notFound := func() (group.Meeting, bool) {
		s.fail(w, http.StatusNotFound, "Meeting not found", "We can't find this meeting any more: the organizers may have removed it.")
		return group.Meeting{}, false
	}
	if group.MeetingIDProblem(id) != "" {
		s.Log.Info("no such meeting id", "meeting_bytes", len(id))
		return notFound()
	}
	row, err := s.Store.ScheduleRow(r.Context(), id)
	return s.meetingOfRow(w, id, row, err)
}

// meetingOfRow turns a schedule row as read into a meeting for a page, or answers
// with the page for what went wrong (see meeting).
func (s *Site) meetingOfRow(w http.ResponseWriter, id string, row group.Row, err error) (group.Meeting, bool) {
	notFound := func() (group.Meeting, bool) {
		s.fail(w, http.StatusNotFound, "Meeting not found", "We can't find this meeting any more: the organizers may have removed it.")
		return group.Meeting{}, false
	}
	switch {
	case errors.Is(err, group.ErrNotFound):
		return notFound()
	case errors.Is(err, group.ErrInvalid):
		s.Log.Warn("meeting id refused by DynamoDB", "meeting", id, "error", err)
		return notFound()
	case err != nil:
		s.Log.Error("read meeting", "meeting", id, "error", err)
		s.unavailable(w)
		return group.Meeting{}, false
	}
	m, problems := group.ParseMeeting(row, s.TimeZone)
	if len(problems) > 0 {
		s.Log.Warn("meeting row invalid", "meeting", id, "problems", len(problems))
		s.fail(w, http.StatusNotFound, "This meeting is being updated", "The organizers are updating this meeting's details. Please try again later.")
		return group.Meeting{}, false
	}
	return m, true
}

func (s *Site) member(w http.ResponseWriter, r *http.Request, id string) (group.Member, bool) {
	m, err := s.Store.Member(r.Context(), id)
	return s.memberOf(w, id, m, err)
}

// memberOf answers with the page for a member that could not be read (see member).
func (s *Site) memberOf(w http.ResponseWriter, id string, m group.Member, err error) (group.Member, bool) {
	if errors.Is(err, group.ErrNotFound) || errors.Is(err, group.ErrInvalid) {
		s.fail(w, http.StatusNotFound, "We don't know you (any more)", "This link belongs to someone who is no longer on the group's list.")
		return m, false
	}
	if err != nil {
		s.Log.Error("read member", "member", id, "error", err)
		s.unavailable(w)
		return m, false
	}
	return m, true
}

// places reads a meeting's counts for a page; nil (and the page says nothing about
// places) if they cannot be read.
func (s *Site) places(ctx context.Context, m group.Meeting) *placesView {
	going, waiting, err := s.Store.PlaceCounts(ctx, m.ID)
	if err != nil {
		s.Log.Error("read places", "meeting", m.ID, "error", err)
		return nil
	}
	return placesOf(m, going, waiting)
}

func placesOf(m group.Meeting, going, waiting int) *placesView {
	v := &placesView{Going: going, Waiting: waiting, Capacity: m.Capacity}
	if m.Capacity > 0 {
		v.Left = max(m.Capacity-going, 0)
		v.Full = v.Left == 0 || waiting > 0
	}
	return v
}

func (s *Site) pub(w http.ResponseWriter, r *http.Request) {
	token, m, member, ok := s.answerLink(w, r, links.ActionPub)
	if !ok {
		return
	}
	v := view{Title: "After-party: " + m.Title, Token: token, Meeting: m, Member: member, MapURL: m.MapURL()}
	now := s.Clock()
	switch {
	case m.Cancelled():
		v.Closed = "This meeting has been cancelled, and so has its after-party."
	case !m.HasPub():
		v.Closed = "The organizers haven't said where the after-party is yet."
	case now.After(m.End.Add(s.PubLinkLife)):
		v.Closed = "This after-party is over. See you at the next one!"
	}
	if a, err := s.Store.PubAnswer(r.Context(), m.ID, member.ID); err == nil {
		v.Coming = a.Coming
	}
	if r.Method == http.MethodPost {
		if v.Closed != "" {
			s.render(w, http.StatusConflict, "pub", s.withPubCount(r.Context(), v))
			return
		}
		coming := r.FormValue("coming") != "no"
		if err := s.Store.SetPubAnswer(r.Context(), m.ID, member.ID, coming, now); err != nil {
			s.Log.Error("record pub answer", "meeting", m.ID, "member", member.ID, "error", err)
			s.fail(w, http.StatusServiceUnavailable, "Please try again", "We could not record your answer just now. Please try again in a minute.")
			return
		}
		s.Log.Info("pub answer recorded", "meeting", m.ID, "member", member.ID, "coming", coming)
		v.Coming, v.Recorded = coming, true
	}
	s.render(w, http.StatusOK, "pub", s.withPubCount(r.Context(), v))
}

// withPubCount adds how many said they're coming to the pub (a count, no names).
func (s *Site) withPubCount(ctx context.Context, v view) view {
	answers, err := s.Store.PubAnswers(ctx, v.Meeting.ID)
	if err != nil {
		s.Log.Error("read pub answers", "meeting", v.Meeting.ID, "error", err)
		return v
	}
	for _, coming := range answers {
		if coming {
			v.PubComing++
		}
	}
	return v
}

func (s *Site) invite(w http.ResponseWriter, r *http.Request) {
	_, m, member, ok := s.answerLink(w, r, links.ActionCalendar)
	if !ok {
		return
	}
	body, err := s.Calendar.MemberInvite(m, member, s.Clock())
	if err != nil {
		s.Log.Error("render invite", "meeting", m.ID, "error", err)
		s.fail(w, http.StatusInternalServerError, "Something went wrong", "We could not make the calendar file. Please try again later.")
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="invite.ics"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(body)
}

func (s *Site) meetingPage(w http.ResponseWriter, r *http.Request) {
	m, ok := s.meeting(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "page", view{Title: m.Title, Meeting: m, Places: s.places(r.Context(), m), Webcal: s.webcal(r)})
}

// webcal is the group feed's subscribe link: calendar apps follow webcal:// to the
// same address over http(s) and keep it updated.
func (s *Site) webcal(r *http.Request) template.URL {
	base := s.builder(r).BaseURL
	if _, rest, ok := strings.Cut(base, "://"); ok {
		return template.URL("webcal://" + rest + "/calendar.ics")
	}
	return ""
}

// FeedWindow is how far back the calendar feed reaches.
const FeedWindow = group.FeedWindow

func (s *Site) feed(w http.ResponseWriter, r *http.Request) {
	rows, err := s.Store.FeedRows(r.Context())
	if err != nil {
		s.Log.Error("read the feed's copy of the schedule", "error", err)
		http.Error(w, "schedule unavailable, try again later", http.StatusServiceUnavailable)
		return
	}
	now := s.Clock()
	var ms []group.Meeting
	for _, row := range rows {
		m, problems := group.ParseMeeting(row, s.TimeZone)
		_, far := group.FarStart(m, now)
		if len(problems) == 0 && !far && m.End.After(now.Add(-FeedWindow)) {
			ms = append(ms, m)
		}
	}
	body, err := s.Calendar.Feed(ms, now)
	if err != nil {
		s.Log.Error("render feed", "error", err)
		http.Error(w, "calendar unavailable, try again later", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=900")
	w.Write(body)
}
