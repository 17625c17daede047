// Package links signs and verifies the tokens in every link a member clicks:
// HMAC-SHA256 over (key id, member, meeting, action, expiry), compared in constant time.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Actions a token can authorize.
const (
	ActionRSVP        = "rsvp"
	ActionPub         = "pub"
	ActionUnsubscribe = "unsub"
	ActionCalendar    = "ics"
	ActionJoin        = "join" // confirm an address from the /join form (double opt-in)
	ActionMet         = "met"  // the /met page of one meeting: stay in touch
)

// Errors a verification can end in; each maps to a page the member understands.
var (
	ErrMalformed  = errors.New("the link is incomplete or damaged")
	ErrForged     = errors.New("the link's signature does not match")
	ErrExpired    = errors.New("the link has expired")
	ErrUnknownKey = errors.New("the link was signed with a key that is no longer in use")
)

// Claims is what a token says.
type Claims struct {
	KeyID   string
	Member  string
	Meeting string // empty for member-wide actions (unsubscribe)
	Action  string
	Expires time.Time
}

// Signer signs with its current key and verifies with any key it holds, so a key
// can be rotated with an overlap.
type Signer struct {
	keys    map[string][]byte
	retired map[string]time.Time // an accepted older key stops verifying at this time
	current string
}

// NewSigner makes a signer whose current key is secret, under key id kid.
func NewSigner(kid string, secret []byte) (*Signer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("link-signing key %q is %d bytes; at least 16 are needed", kid, len(secret))
	}
	if kid == "" || strings.ContainsAny(kid, ".~") {
		return nil, fmt.Errorf("link-signing key id %q must be non-empty without '.' or '~'", kid)
	}
	return &Signer{keys: map[string][]byte{kid: secret}, current: kid}, nil
}

// Accept adds an older key that is still accepted but no longer used to sign.
func (s *Signer) Accept(kid string, secret []byte) { s.keys[kid] = secret }

// AcceptUntil adds an older key that is accepted until retire (exclusive): after
// a rotation, until the longest-lived link it signed has expired.
func (s *Signer) AcceptUntil(kid string, secret []byte, retire time.Time) {
	s.Accept(kid, secret)
	if s.retired == nil {
		s.retired = map[string]time.Time{}
	}
	s.retired[kid] = retire
}

// Sign returns the token for c (c.KeyID is ignored: the current key signs).
func (s *Signer) Sign(c Claims) string {
	payload := strings.Join([]string{s.current, c.Member, c.Meeting, c.Action, strconv.FormatInt(c.Expires.Unix(), 36)}, "~")
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + s.mac(s.keys[s.current], payload)
}

func (s *Signer) mac(key []byte, payload string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Verify checks a token's signature in constant time and its expiry against now.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || sig == "" {
		return Claims{}, ErrMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	parts := strings.Split(string(raw), "~")
	if len(parts) != 5 {
		return Claims{}, ErrMalformed
	}
	key, ok := s.keys[parts[0]]
	if retire, set := s.retired[parts[0]]; !ok || (set && !now.Before(retire)) {
		return Claims{}, ErrUnknownKey
	}
	want := s.mac(key, string(raw))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Claims{}, ErrForged
	}
	exp, err := strconv.ParseInt(parts[4], 36, 64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	c := Claims{KeyID: parts[0], Member: parts[1], Meeting: parts[2], Action: parts[3], Expires: time.Unix(exp, 0)}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// Builder makes the absolute links an email carries.
type Builder struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Signer  *Signer
}

// URL returns BaseURL+path with the signed token and extra query values.
func (b Builder) URL(path string, c Claims, extra url.Values) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("t", b.Signer.Sign(c))
	return b.BaseURL + path + "?" + q.Encode()
}
