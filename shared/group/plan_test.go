package group

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	m, ps := ParseMeeting(validRow(), "America/Los_Angeles")
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	cancelled := m
	cancelled.Status = StatusCancelled
	noPub := m
	noPub.PubName = ""
	l := DefaultLeadTimes
	tests := []struct {
		name string
		kind Kind
		m    Meeting
		at   time.Time
		want bool
	}{
		{"invitation too early", Invitation, m, m.Start.Add(-15 * 24 * time.Hour), false},
		{"invitation at 14 days", Invitation, m, m.Start.Add(-14 * 24 * time.Hour), true},
		{"invitation for a meeting added late", Invitation, m, m.Start.Add(-time.Hour), true},
		{"invitation after the start", Invitation, m, m.Start, false},
		{"reminder at 2 days", Reminder, m, m.Start.Add(-48 * time.Hour), true},
		{"reminder at 3 days", Reminder, m, m.Start.Add(-72 * time.Hour), false},
		{"teaser at 1 day", Teaser, m, m.Start.Add(-24 * time.Hour), true},
		{"pub before the end", Pub, m, m.End.Add(-time.Minute), false},
		{"pub at the end", Pub, m, m.End, true},
		{"pub 2h59 after", Pub, m, m.End.Add(179 * time.Minute), true},
		{"pub 3h after: stale", Pub, m, m.End.Add(3 * time.Hour), false},
		{"pub without a pub", Pub, noPub, m.End, false},
		{"cancelled: no reminder", Reminder, cancelled, m.Start.Add(-24 * time.Hour), false},
		{"cancelled: no teaser", Teaser, cancelled, m.Start.Add(-12 * time.Hour), false},
		{"cancelled: no pub", Pub, cancelled, m.End, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := l.Due(tt.kind, tt.m, tt.at)
			if got != tt.want {
				t.Errorf("Due = %v (%s), want %v", got, why, tt.want)
			}
			if !got && why == "" {
				t.Error("a skip must say why")
			}
		})
	}
}

func TestLeadsAreWallClockDaysAcrossDST(t *testing.T) {
	r := validRow()
	r[FieldStartsAt] = s("2027-03-29T19:00")
	r[FieldTimeZone] = s("Europe/Berlin")
	m, ps := ParseMeeting(r, "UTC")
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	for _, tt := range []struct {
		kind Kind
		want string
	}{
		{Invitation, "2027-03-15 19:00 CET"}, // 14 days before, across the change to CEST
		{Reminder, "2027-03-27 19:00 CET"},
		{Teaser, "2027-03-28 19:00 CEST"},
	} {
		if got := DefaultLeadTimes.Window(tt.kind, m).Opens.In(m.Location).Format("2006-01-02 15:04 MST"); got != tt.want {
			t.Errorf("%s opens %s, want %s", tt.kind, got, tt.want)
		}
	}
	odd := LeadTimes{Reminder: 36 * time.Hour}
	if got := odd.Window(Reminder, m).Opens; !got.Equal(m.Start.Add(-36 * time.Hour)) {
		t.Errorf("a lead in hours is an exact duration: %v", got)
	}
}

func TestRecipient(t *testing.T) {
	active := Member{ID: "m1", Status: MemberActive}
	gone := Member{ID: "m2", Status: MemberUnsubscribed}
	muted := Member{ID: "m3", Status: MemberActive, Muted: []Kind{Teaser}}
	ans := func(a Answer) *RSVP { return &RSVP{Answer: a} }
	tests := []struct {
		name string
		kind Kind
		m    Member
		r    *RSVP
		want bool
	}{
		{"invite everyone active", Invitation, active, nil, true},
		{"never the unsubscribed", Invitation, gone, nil, false},
		{"remind no-answer", Reminder, active, nil, true},
		{"remind maybe", Reminder, active, ans(Maybe), true},
		{"don't remind no", Reminder, active, ans(No), false},
		{"tease yes", Teaser, active, ans(Yes), true},
		{"don't tease no-answer", Teaser, active, nil, false},
		{"muted teasers", Teaser, muted, ans(Yes), false},
		{"pub maybe", Pub, active, ans(Maybe), true},
		{"no pub for no", Pub, active, ans(No), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Recipient(tt.kind, tt.m, tt.r); got != tt.want {
				t.Errorf("Recipient = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemberIDIgnoresCase(t *testing.T) {
	if MemberID("Ada@Example.org ") != MemberID("ada@example.org") {
		t.Fatal("member ids must not depend on letter case or spaces")
	}
	if MemberID("ada@example.org") == MemberID("grace@example.org") {
		t.Fatal("different addresses must have different ids")
	}
}

func TestParseKind(t *testing.T) {
	for _, s := range []string{"invitations", "reminders", "teasers", "pub", "Invitation"} {
		if _, ok := ParseKind(s); !ok {
			t.Errorf("ParseKind(%q) failed", s)
		}
	}
	if _, ok := ParseKind("digest"); ok {
		t.Error("unknown kind accepted")
	}
}

func TestFirstName(t *testing.T) {
	for name, want := range map[string]string{"Ada Lovelace": "Ada", "Hopper, Grace": "Grace", "": "there", "  Ken  ": "Ken", "Cher": "Cher"} {
		if got := (Member{Name: name}).FirstName(); got != want {
			t.Errorf("FirstName(%q) = %q, want %q", name, got, want)
		}
	}
}
