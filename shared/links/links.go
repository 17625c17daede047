// Package links signs and verifies the tokens in every link a member clicks:
// HMAC-SHA256 over (key id, member, meeting, action, expiry), compared in constant time.
package links

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// A token's payload is its fields joined by sep, each escaped so that none holds
// sep: a meeting id may ('~' is allowed in one). Tokens signed before escaping hold
// no '%' (member ids are hex, meeting ids cannot have one) and read the same.
const sep = "~"

var (
	escapeField   = strings.NewReplacer("%", "%25", sep, "%7E")
	unescapeField = strings.NewReplacer("%25", "%", "%7E", sep)
)

// Signer signs with its current key and verifies with any key it holds, so a key
// can be rotated with an overlap. Its keys can be replaced while it is in use
// (Replace): everything that holds the signer sees the keys read last.
type Signer struct {
	keys atomic.Pointer[keyset]
	mu   sync.Mutex // serializes changes; readers never wait
}

// keyset is one immutable set of keys; a change makes a new one.
type keyset struct {
	keys    map[string][]byte
	retired map[string]time.Time // an accepted older key stops verifying at this time
	current string
}

func (k *keyset) clone() *keyset {
	c := &keyset{keys: make(map[string][]byte, len(k.keys)), retired: make(map[string]time.Time, len(k.retired)), current: k.current}
	for id, key := range k.keys {
		c.keys[id] = key
	}
	for id, t := range k.retired {
		c.retired[id] = t
	}
	return c
}

// NewSigner makes a signer whose current key is secret, under key id kid.
func NewSigner(kid string, secret []byte) (*Signer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("link-signing key %q is %d bytes; at least 16 are needed", kid, len(secret))
	}
	if kid == "" || strings.ContainsAny(kid, ".~") {
		return nil, fmt.Errorf("link-signing key id %q must be non-empty without '.' or '~'", kid)
	}
	s := &Signer{}
	s.keys.Store(&keyset{keys: map[string][]byte{kid: secret}, retired: map[string]time.Time{}, current: kid})
	return s, nil
}

func (s *Signer) change(f func(*keyset)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys.Load().clone()
	f(k)
	s.keys.Store(k)
}

// Accept adds an older key that is still accepted but no longer used to sign.
func (s *Signer) Accept(kid string, secret []byte) {
	s.change(func(k *keyset) { k.keys[kid] = secret })
}

// AcceptUntil adds an older key that is accepted until retire (exclusive): after
// a rotation, until the longest-lived link it signed has expired.
func (s *Signer) AcceptUntil(kid string, secret []byte, retire time.Time) {
	s.change(func(k *keyset) { k.keys[kid] = secret; k.retired[kid] = retire })
}

// Replace makes s sign and verify with other's keys from now on (the secret was
// read again after a rotation). Links signed before keep verifying as long as
// other holds their key.
func (s *Signer) Replace(other *Signer) {
	if other == s {
		return
	}
	k := other.keys.Load()
	s.mu.Lock()
	s.keys.Store(k) // keysets are never changed in place, so sharing one is safe
	s.mu.Unlock()
}

// KeyID is the id of the key that signs now.
func (s *Signer) KeyID() string { return s.keys.Load().current }

// Sign returns the token for c (c.KeyID is ignored: the current key signs).
func (s *Signer) Sign(c Claims) string {
	k := s.keys.Load()
	fields := []string{k.current, c.Member, c.Meeting, c.Action, strconv.FormatInt(c.Expires.Unix(), 36)}
	for i, f := range fields {
		fields[i] = escapeField.Replace(f)
	}
	payload := strings.Join(fields, sep)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + mac(k.keys[k.current], payload)
}

func mac(key []byte, payload string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Verify checks a token's signature in constant time and its expiry against now.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || !wellFormedMAC(sig) {
		return Claims{}, ErrMalformed // e.g. cut short by a mail program: damaged, not forged
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	parts := strings.Split(string(raw), sep)
	switch {
	case len(parts) < 5:
		return Claims{}, ErrMalformed
	case len(parts) > 5:
		// Signed before fields were escaped, for a meeting id with '~' in it: the
		// key id, member id, action and expiry never hold one, so the meeting is
		// everything between the member and the action.
		parts = append(parts[:2], strings.Join(parts[2:len(parts)-2], sep), parts[len(parts)-2], parts[len(parts)-1])
	default:
		for i, p := range parts {
			parts[i] = unescapeField.Replace(p)
		}
	}
	k := s.keys.Load()
	key, ok := k.keys[parts[0]]
	if retire, set := k.retired[parts[0]]; !ok || (set && !now.Before(retire)) {
		return Claims{}, ErrUnknownKey
	}
	want := mac(key, string(raw))
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

// wellFormedMAC reports whether sig could be a signature at all: the base64url of
// one HMAC-SHA256.
func wellFormedMAC(sig string) bool {
	if len(sig) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	return err == nil
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

// ActionReply authorizes an email reply to the meeting's calendar invitation: the
// token in the local part of the ORGANIZER address (rsvp+TOKEN@reply domain).
const ActionReply = "reply"

// Reply tokens: the compact form of a token for an email local part. RFC 5321
// §4.5.3.1.1 allows 64 octets in a local part, and some MTAs lower-case it, so the
// token is lower-case base32 (RFC 4648, no padding) of
//
//	key tag (2) | member (10) | meeting tag (4) | HMAC-SHA256 truncated (10)
//
// 26 bytes, 42 characters: "rsvp+" and the token are 47 octets. The key tag and the
// meeting tag are the first bytes of SHA-256 of the key id and of the meeting id:
// they only pick which key and which meetings to try. The MAC covers the full key
// id, member id, meeting id and ActionReply, so a token is only valid for the
// meeting it was signed for; 80 bits of MAC is the shortest RFC 2104 §5 advises.
// A reply token has no expiry: the key's own retirement after a rotation ends it,
// and a reply after the meeting's start changes nothing anyway. It carries no
// expiry so that it is the same for the invitation, every update and the
// cancellation (calendars match an update to their event by UID and ORGANIZER).
const (
	ReplyTokenLen   = 42
	replyMACLen     = 10
	replyRawLen     = 2 + memberIDLen + 4 + replyMACLen
	memberIDLen     = 10 // group.MemberID: "m" + 20 hex digits
	memberIDPrefix  = "m"
	memberIDHexChar = 2 * memberIDLen
)

var replyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrNoKey means the signer does not hold the key id asked for.
var ErrNoKey = errors.New("no such signing key")

// HasKey reports whether kid is a key the signer can sign and verify with at now.
func (s *Signer) HasKey(kid string, now time.Time) bool {
	return s.keys.Load().has(kid, now)
}

func (k *keyset) has(kid string, now time.Time) bool {
	if _, ok := k.keys[kid]; !ok {
		return false
	}
	retire, set := k.retired[kid]
	return !set || now.Before(retire)
}

// ReplyToken signs the compact reply token of (member, meeting) with key kid, so
// that a meeting keeps one ORGANIZER across a key rotation; kid "" is the current
// key. It fails for a key the signer does not hold or a member id not made by
// group.MemberID.
func (s *Signer) ReplyToken(kid, member, meeting string) (string, error) {
	k := s.keys.Load()
	if kid == "" {
		kid = k.current
	}
	key, ok := k.keys[kid]
	if !ok {
		return "", fmt.Errorf("reply token for %s/%s: key %q: %w", meeting, member, kid, ErrNoKey)
	}
	raw := make([]byte, 0, replyRawLen)
	raw = append(raw, tag(kid, 2)...)
	id, err := memberBytes(member)
	if err != nil {
		return "", fmt.Errorf("reply token for %s: %w", meeting, err)
	}
	raw = append(raw, id...)
	raw = append(raw, tag(meeting, 4)...)
	raw = append(raw, replyMAC(key, kid, member, meeting)...)
	return strings.ToLower(replyEncoding.EncodeToString(raw)), nil
}

// ReplyClaims is what a valid reply token says.
type ReplyClaims struct {
	KeyID, Member, Meeting string
}

// VerifyReply checks a reply token (any letter case) in constant time against
// the candidate meetings whose tag it carries: the meeting named by the reply's
// calendar UID or, for a reply without one, every meeting the caller knows.
func (s *Signer) VerifyReply(token string, meetings []string, now time.Time) (ReplyClaims, error) {
	raw, err := replyEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(token)))
	if err != nil || len(raw) != replyRawLen || len(token) != ReplyTokenLen {
		return ReplyClaims{}, ErrMalformed
	}
	member := memberIDPrefix + hex.EncodeToString(raw[2:2+memberIDLen])
	meetingTag := raw[2+memberIDLen : 2+memberIDLen+4]
	mac := raw[2+memberIDLen+4:]
	var known bool
	k := s.keys.Load()
	for kid, key := range k.keys {
		if !bytes.Equal(tag(kid, 2), raw[:2]) {
			continue
		}
		if !k.has(kid, now) {
			continue
		}
		known = true
		for _, m := range meetings {
			if !bytes.Equal(tag(m, 4), meetingTag) {
				continue
			}
			if hmac.Equal(replyMAC(key, kid, member, m), mac) {
				return ReplyClaims{KeyID: kid, Member: member, Meeting: m}, nil
			}
		}
	}
	if !known {
		return ReplyClaims{}, ErrUnknownKey
	}
	return ReplyClaims{}, ErrForged
}

func tag(s string, n int) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:n]
}

func replyMAC(key []byte, kid, member, meeting string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(strings.Join([]string{kid, member, meeting, ActionReply}, "~")))
	return h.Sum(nil)[:replyMACLen]
}

func memberBytes(member string) ([]byte, error) {
	h, ok := strings.CutPrefix(member, memberIDPrefix)
	if !ok || len(h) != memberIDHexChar || strings.ToLower(h) != h {
		return nil, fmt.Errorf("member id %q is not a member id (m + %d hex digits)", member, memberIDHexChar)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("member id %q is not a member id (m + %d hex digits)", member, memberIDHexChar)
	}
	return b, nil
}
