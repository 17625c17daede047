package links

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

const member = "m0123456789abcdef0123"

func TestReplyTokenFitsALocalPart(t *testing.T) {
	s := signer(t)
	tok, err := s.ReplyToken("", member, "a-meeting-id-that-is-quite-long-2026-12-10-and-longer-still-64ch")
	if err != nil {
		t.Fatal(err)
	}
	local := "rsvp+" + tok
	if len(local) > 64 || len(tok) != ReplyTokenLen {
		t.Errorf("local part %q is %d octets (token %d); RFC 5321 allows 64", local, len(local), len(tok))
	}
	if !regexp.MustCompile(`^[a-z2-7]+$`).MatchString(tok) {
		t.Errorf("token %q is not lower-case base32", tok)
	}
	again, _ := s.ReplyToken("k1", member, "a-meeting-id-that-is-quite-long-2026-12-10-and-longer-still-64ch")
	if again != tok {
		t.Errorf("the same member and meeting gave two tokens: %q, %q", tok, again)
	}
}

func TestVerifyReply(t *testing.T) {
	s := signer(t)
	tok, err := s.ReplyToken("", member, "2026-12-10")
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewSigner("k2", []byte("another-key-another-key-another!"))
	rotated.AcceptUntil("k1", []byte("0123456789abcdef0123456789abcdef"), now.Add(time.Hour))
	stranger, _ := NewSigner("k1", []byte("not-the-key-not-the-key-not-the!"))
	flip := []byte(tok)
	flip[30] = map[bool]byte{true: 'b', false: 'a'}[flip[30] == 'a']

	tests := []struct {
		name     string
		token    string
		meetings []string
		v        *Signer
		at       time.Time
		want     error
	}{
		{"valid", tok, []string{"2026-12-10"}, s, now, nil},
		{"upper-cased by an MTA", strings.ToUpper(tok), []string{"2026-12-10"}, s, now, nil},
		{"found among all meetings", tok, []string{"2026-11-12", "2026-12-10", "2027-01-14"}, s, now, nil},
		{"other meeting", tok, []string{"2026-11-12"}, s, now, ErrForged},
		{"one character changed", string(flip), []string{"2026-12-10"}, s, now, ErrForged},
		{"truncated", tok[:40], []string{"2026-12-10"}, s, now, ErrMalformed},
		{"not base32", strings.Repeat("1", ReplyTokenLen), []string{"2026-12-10"}, s, now, ErrMalformed},
		{"other secret, same key id", tok, []string{"2026-12-10"}, stranger, now, ErrForged},
		{"previous key after a rotation", tok, []string{"2026-12-10"}, rotated, now, nil},
		{"previous key retired", tok, []string{"2026-12-10"}, rotated, now.Add(time.Hour), ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.VerifyReply(tc.token, tc.meetings, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (c.Member != member || c.Meeting != "2026-12-10" || c.KeyID != "k1") {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestReplyTokenKeepsItsKeyAfterARotation(t *testing.T) {
	s := signer(t)
	before, _ := s.ReplyToken("", member, "2026-12-10")
	rotated, _ := NewSigner("k2", []byte("another-key-another-key-another!"))
	rotated.Accept("k1", []byte("0123456789abcdef0123456789abcdef"))
	after, err := rotated.ReplyToken("k1", member, "2026-12-10")
	if err != nil || after != before {
		t.Errorf("signing with the announced key after a rotation: %q, %v; want %q", after, err, before)
	}
	if _, err := rotated.ReplyToken("k0", member, "2026-12-10"); !errors.Is(err, ErrNoKey) {
		t.Errorf("unknown key: err = %v, want ErrNoKey", err)
	}
	if _, err := s.ReplyToken("", "m1", "2026-12-10"); err == nil {
		t.Error("a member id not from group.MemberID was signed")
	}
}
