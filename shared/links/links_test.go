package links

import (
	"errors"
	"strings"
	"testing"
	"time"
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
		{"truncated", good[:len(good)-3], now, s, ErrForged},
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
