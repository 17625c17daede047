package links

import (
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/afterparty/afterparty/shared/group"
)

func signer(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestVerify(t *testing.T) {
	s := signer(t)
	c := Claims{Member: "m1", Meeting: "2026-12-10", Action: ActionRSVP, Expires: now.Add(time.Hour)}
	good := s.Sign(c)
	other := s.Sign(Claims{Member: "m2", Meeting: "2026-12-10", Action: ActionRSVP, Expires: now.Add(time.Hour)})
	body, sig, _ := strings.Cut(good, ".")
	_, otherSig, _ := strings.Cut(other, ".")
	rotated, _ := NewSigner("k2", []byte("another-key-another-key-another!"))

	tests := []struct {
		name  string
		token string
		at    time.Time
		v     *Signer
		want  error
	}{
		{"valid", good, now, s, nil},
		{"expired", good, now.Add(time.Hour), s, ErrExpired},
		{"truncated", good[:len(good)-3], now, s, ErrMalformed},
		{"signature too long", good + "A", now, s, ErrMalformed},
		{"signature not base64", body + "." + sig[:len(sig)-1] + "*", now, s, ErrMalformed},
		{"no signature", body, now, s, ErrMalformed},
		{"another member's signature", body + "." + otherSig, now, s, ErrForged},
		{"flipped payload", "X" + body[1:] + "." + sig, now, s, nil /* any error */},
		{"empty", "", now, s, ErrMalformed},
		{"garbage", "!!!.???", now, s, ErrMalformed},
		{"unknown key", good, now, rotated, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Verify(tt.token, tt.at)
			switch {
			case tt.name == "valid":
				if err != nil || got.Member != "m1" || got.Meeting != "2026-12-10" || got.Action != ActionRSVP || got.KeyID != "k1" {
					t.Fatalf("Verify = %+v, %v", got, err)
				}
			case tt.want == nil:
				if err == nil {
					t.Fatal("a tampered token verified")
				}
			case !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRotationAcceptsOldKey(t *testing.T) {
	old := signer(t)
	token := old.Sign(Claims{Member: "m1", Action: ActionUnsubscribe, Expires: now.Add(time.Hour)})
	next, _ := NewSigner("k2", []byte("another-key-another-key-another!"))
	next.Accept("k1", []byte("0123456789abcdef0123456789abcdef"))
	if _, err := next.Verify(token, now); err != nil {
		t.Fatalf("a token from the previous key must verify during the overlap: %v", err)
	}
	if got, _ := next.Verify(next.Sign(Claims{Member: "m1", Expires: now.Add(time.Hour)}), now); got.KeyID != "k2" {
		t.Fatalf("new tokens must be signed with the current key, got %q", got.KeyID)
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner("k", []byte("short")); err == nil {
		t.Fatal("a short key must be refused")
	}
}

func FuzzVerify(f *testing.F) {
	s, _ := NewSigner("k1", []byte("0123456789abcdef0123456789abcdef"))
	f.Add(s.Sign(Claims{Member: "m1", Meeting: "x", Action: ActionRSVP, Expires: now.Add(time.Hour)}))
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token, now)
		if err != nil {
			return
		}
		// Anything that verifies must re-sign to the same token: no second form is accepted.
		if again := s.Sign(c); again != token {
			t.Fatalf("token %q verified but signs as %q", token, again)
		}
	})
}

func TestRetiredKey(t *testing.T) {
	old := signer(t)
	token := old.Sign(Claims{Member: "m1", Action: ActionUnsubscribe, Expires: now.Add(48 * time.Hour)})
	next, _ := NewSigner("k2", []byte("another-key-another-key-another!"))
	next.AcceptUntil("k1", []byte("0123456789abcdef0123456789abcdef"), now.Add(24*time.Hour))
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"during the overlap", now, nil},
		{"just before retirement", now.Add(24*time.Hour - time.Second), nil},
		{"at retirement", now.Add(24 * time.Hour), ErrUnknownKey},
		{"after retirement, though the link itself has not expired", now.Add(30 * time.Hour), ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := next.Verify(token, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// meetingIDRunes is every character the schedule's meeting_id rule accepts (inside
// an id: the rule trims the ends), '~' first: the token's own separator.
func meetingIDRunes(t *testing.T) []rune {
	t.Helper()
	out := []rune{'~'}
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if c == '~' || !utf8.ValidRune(c) {
			continue
		}
		if group.MeetingIDProblem("a"+string(c)+"b") == "" {
			out = append(out, c)
		}
	}
	if len(out) < 1000 {
		t.Fatalf("only %d characters accepted in meeting ids: is the rule the one the schedule uses?", len(out))
	}
	return out
}

// TestEveryValidMeetingIDSignsAndVerifies: a link works for every meeting id the
// schedule accepts. Every accepted character is tried (packed into ids between
// '~'s), then random ids of accepted characters (and '~' often) go through a whole email link:
// built, parsed back from the URL, verified.
func TestEveryValidMeetingIDSignsAndVerifies(t *testing.T) {
	s := signer(t)
	b := Builder{BaseURL: "https://example.org", Signer: s}
	runes := meetingIDRunes(t)
	check := func(t *testing.T, id, token string) {
		if p := group.MeetingIDProblem(id); p != "" {
			t.Fatalf("test made an invalid id %q: %s", id, p)
		}
		got, err := s.Verify(token, now)
		if err != nil || got.Meeting != id || got.Member != "m1" || got.Action != ActionRSVP {
			t.Fatalf("meeting id %q (%+q): Verify = %+v, %v", id, id, got, err)
		}
	}
	// Every accepted character, packed into ids as long as the rule allows, each
	// id between '~'s: one link per id, every character in one of them.
	sign := func(id string) string {
		return s.Sign(Claims{Member: "m1", Meeting: id, Action: ActionRSVP, Expires: now.Add(time.Hour)})
	}
	id := "~"
	for _, c := range runes {
		if len(id)+utf8.RuneLen(c)+1 > group.MaxMeetingIDLength {
			id += "~"
			check(t, id, sign(id))
			id = "~"
		}
		id += string(c)
	}
	check(t, id+"~", sign(id+"~"))
	rng := rand.New(rand.NewPCG(9, 5))
	for i := 0; i < 2000; i++ {
		var id strings.Builder
		for n := 1 + rng.IntN(64); n > 0; n-- {
			c := runes[rng.IntN(len(runes))]
			if rng.IntN(4) == 0 {
				c = '~'
			}
			if id.Len()+utf8.RuneLen(c) > group.MaxMeetingIDLength {
				break
			}
			id.WriteRune(c)
		}
		meeting := strings.TrimSpace(id.String())
		if meeting == "" {
			continue
		}
		link := b.URL("/rsvp", Claims{Member: "m1", Meeting: meeting, Action: ActionRSVP, Expires: now.Add(time.Hour)}, url.Values{"answer": {"yes"}})
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("link for %q does not parse: %v", meeting, err)
		}
		check(t, meeting, u.Query().Get("t"))
	}
}

// TestTokensSignedBeforeEscaping: links already sent for a meeting id with '~' in
// it (signed with the fields joined as they were) verify now, and so do fields
// that hold the escape characters themselves.
func TestTokensSignedBeforeEscaping(t *testing.T) {
	s := signer(t)
	exp := now.Add(time.Hour)
	payload := "k1~m1~2026~12~rsvp~" + strconv.FormatInt(exp.Unix(), 36)
	legacy := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + mac(s.keys.Load().keys["k1"], payload)
	got, err := s.Verify(legacy, now)
	if err != nil || got.Meeting != "2026~12" || got.Member != "m1" || got.Action != ActionRSVP {
		t.Fatalf("legacy token: Verify = %+v, %v", got, err)
	}
	odd := Claims{Member: "m%7E~%25", Meeting: "%~%7E~", Action: ActionPub, Expires: exp}
	got, err = s.Verify(s.Sign(odd), now)
	if err != nil || got.Member != odd.Member || got.Meeting != odd.Meeting || got.Action != odd.Action {
		t.Fatalf("Verify(Sign(%+v)) = %+v, %v", odd, got, err)
	}
}
