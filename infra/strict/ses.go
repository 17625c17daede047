package strict

// The SES v2 layer. It stands in front of aws-ses-v2-local and answers SendEmail
// (POST /v2/email/outbound-emails) the way SES v2 does when the request breaks one
// of SES's rules (RULES-SES.md lists each with its source); everything else, and
// every SendEmail that passes, goes to the emulator unchanged: its inbox at /,
// /store, /clear-store, GetAccount, templates.
//
// Admin surface, for a separate process (the CLI, `make run`) or a test that only
// has the URL. Every call is a POST and answers 204, or 400 with a plain-text
// reason:
//
//	POST /_strict/ses/account-error?code=SendingPausedException   every SendEmail answers it
//	POST /_strict/ses/account-error?code=                          heals
//	POST /_strict/ses/sandbox?on=1&verified=a@example.org&verified=b@example.org
//	POST /_strict/ses/sandbox?on=0
//	POST /_strict/ses/identity?name=example.org                    verifies an identity
//	POST /_strict/ses/configuration-set?name=afterparty            creates a configuration set
//
// GET /_strict/ses/state answers the current settings as JSON.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-message"
)

// SESOptions is the account the SES layer stands for.
type SESOptions struct {
	Identities        []string  // verified identities: domains ("afterparty.example") or addresses
	ConfigurationSets []string  // configuration sets that exist
	Recorder          *Recorder // may be nil
}

// SES is the strict SES v2 layer: an http.Handler proxying to the emulator.
type SES struct {
	proxy *httputil.ReverseProxy
	rec   *Recorder

	mu         sync.Mutex
	identities map[string]bool
	configSets map[string]bool
	sandbox    bool
	recipients map[string]bool // verified recipients in sandbox mode, beyond the identities
	accountErr string
}

// Limits SES v2 documents (RULES-SES.md).
const (
	// MaxMessageBytes is the largest message SES v2 takes: 40 MB after base64
	// encoding, attachments included.
	MaxMessageBytes = 40 << 20
	// MaxRecipients is the most To + Cc + Bcc addresses one message may have.
	MaxRecipients = 50
	// MaxLineLength is the longest line of a raw message, CRLF included (RFC 5321).
	MaxLineLength = 1000
)

// AccountErrors are the account-level errors SetAccountError can switch on, with
// the message SES v2 gives with each.
var AccountErrors = map[string]string{
	"SendingPausedException":             "Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account.",
	"MailFromDomainNotVerifiedException": "The message can't be sent because the sending domain isn't verified.",
	"AccountSuspendedException":          "The message can't be sent because the account's ability to send email has been permanently restricted.",
}

// NewSES is a layer in front of the SES emulator at upstream.
func NewSES(upstream string, opt SESOptions) (*SES, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("strict SES: upstream %q is not an absolute URL", upstream)
	}
	s := &SES{
		proxy:      httputil.NewSingleHostReverseProxy(u),
		rec:        opt.Recorder,
		identities: map[string]bool{},
		configSets: map[string]bool{},
		recipients: map[string]bool{},
	}
	for _, id := range opt.Identities {
		s.AddIdentity(id)
	}
	for _, c := range opt.ConfigurationSets {
		s.AddConfigurationSet(c)
	}
	return s, nil
}

// SetSandbox switches sandbox mode: only verified identities and the given
// recipients (and the mailbox simulator) may receive mail.
func (s *SES) SetSandbox(on bool, verifiedRecipients ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sandbox = on
	s.recipients = map[string]bool{}
	for _, r := range verifiedRecipients {
		s.recipients[strings.ToLower(strings.TrimSpace(r))] = true
	}
}

// SetAccountError makes every SendEmail answer the account-level error code
// (a key of AccountErrors; another code answers HTTP 400 with that type); ""
// heals.
func (s *SES) SetAccountError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountErr = code
}

// AddIdentity verifies a domain or address identity.
func (s *SES) AddIdentity(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[strings.ToLower(strings.TrimSpace(name))] = true
}

// RemoveIdentity takes a verification back (tests that added one clean up with it).
func (s *SES) RemoveIdentity(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.identities, strings.ToLower(strings.TrimSpace(name)))
}

// AddConfigurationSet creates a configuration set.
func (s *SES) AddConfigurationSet(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configSets[name] = true
}

// ServeHTTP answers the admin surface, checks SendEmail and proxies the rest.
func (s *SES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/_strict/ses/"); ok {
		s.admin(w, r, rest)
		return
	}
	op := sesOperation(r.Method, r.URL.Path)
	caller := Caller(r)
	switch op {
	case "":
		// not an SES API call: the emulator's inbox, /store, /clear-store
	case "SendEmail":
		if !s.sendEmail(w, r, caller) {
			return
		}
	default:
		s.rec.Record(caller, Call{Action: "ses:" + op, Resource: "*"})
	}
	s.proxy.ServeHTTP(w, r)
}

// sesOperation names the SES v2 operation of a request ("" for none).
func sesOperation(method, p string) string {
	rest, ok := strings.CutPrefix(p, "/v2/email/")
	if !ok {
		return ""
	}
	first, more, _ := strings.Cut(rest, "/")
	switch {
	case first == "outbound-emails" && method == http.MethodPost:
		return "SendEmail"
	case first == "outbound-bulk-emails" && method == http.MethodPost:
		return "SendBulkEmail"
	case first == "account" && more == "" && method == http.MethodGet:
		return "GetAccount"
	case first == "templates" && more == "" && method == http.MethodPost:
		return "CreateEmailTemplate"
	case first == "templates" && more == "" && method == http.MethodGet:
		return "ListEmailTemplates"
	case first == "templates" && method == http.MethodGet:
		return "GetEmailTemplate"
	case first == "templates" && method == http.MethodPut:
		return "UpdateEmailTemplate"
	case first == "templates" && method == http.MethodDelete:
		return "DeleteEmailTemplate"
	}
	// Any other route: name it by method and first path segment, so the recorder
	// still shows that something was called.
	return method + ":" + first
}

func (s *SES) admin(w http.ResponseWriter, r *http.Request, what string) {
	if what == "state" && r.Method == http.MethodGet {
		s.mu.Lock()
		state := map[string]any{
			"identities":         sortedKeys(s.identities),
			"configurationSets":  sortedKeys(s.configSets),
			"sandbox":            s.sandbox,
			"verifiedRecipients": sortedKeys(s.recipients),
			"accountError":       s.accountErr,
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(state)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "strict SES admin: use POST", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	switch what {
	case "account-error":
		code := q.Get("code")
		if _, ok := AccountErrors[code]; code != "" && !ok {
			http.Error(w, fmt.Sprintf("strict SES admin: unknown account error %q (known: %s)", code, strings.Join(sortedKeys(boolKeys(AccountErrors)), ", ")), http.StatusBadRequest)
			return
		}
		s.SetAccountError(code)
	case "sandbox":
		on := q.Get("on")
		if on != "1" && on != "0" && on != "true" && on != "false" {
			http.Error(w, "strict SES admin: sandbox needs on=1 or on=0", http.StatusBadRequest)
			return
		}
		s.SetSandbox(on == "1" || on == "true", q["verified"]...)
	case "identity":
		if q.Get("name") == "" {
			http.Error(w, "strict SES admin: identity needs name=", http.StatusBadRequest)
			return
		}
		s.AddIdentity(q.Get("name"))
	case "configuration-set":
		if q.Get("name") == "" {
			http.Error(w, "strict SES admin: configuration-set needs name=", http.StatusBadRequest)
			return
		}
		s.AddConfigurationSet(q.Get("name"))
	default:
		http.Error(w, "strict SES admin: no such setting "+what, http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sesError is an SES v2 error answer (restJson1).
type sesError struct {
	status  int
	code    string
	message string
}

func (e *sesError) Error() string { return e.code + ": " + e.message }

func rejected(format string, a ...any) *sesError {
	return &sesError{http.StatusBadRequest, "MessageRejected", fmt.Sprintf(format, a...)}
}

func badRequest(format string, a ...any) *sesError {
	return &sesError{http.StatusBadRequest, "BadRequestException", fmt.Sprintf(format, a...)}
}

func writeSESError(w http.ResponseWriter, e *sesError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.message})
}

// sendEmailRequest is the part of the SendEmail request body the rules read.
type sendEmailRequest struct {
	FromEmailAddress     *string
	ConfigurationSetName *string
	Destination          *struct {
		ToAddresses, CcAddresses, BccAddresses []string
	}
	Content *struct {
		Simple *simpleMessage
		Raw    *struct {
			Data json.RawMessage // a base64 string: its length is the size SES counts
		}
		Template *json.RawMessage
	}
}

type simpleMessage struct {
	Subject *struct{ Data *string }
	Body    *struct {
		Text, Html *struct{ Data *string }
	}
	Headers     []struct{ Name, Value *string }
	Attachments []struct {
		FileName           *string
		ContentType        *string
		ContentId          *string
		ContentDescription *string
	}
}

// sendEmail checks a SendEmail request; it answers the error and returns false if
// SES would refuse it, else records the call and returns true with r's body
// restored for the proxy.
func (s *SES) sendEmail(w http.ResponseWriter, r *http.Request, caller string) bool {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		writeSESError(w, badRequest("Could not read the request body: %v", err))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req sendEmailRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeSESError(w, badRequest("The request body is not valid JSON: %v", err))
		return false
	}
	identity, calls, serr := s.check(&req, region(r))
	if serr != nil {
		writeSESError(w, serr)
		return false
	}
	s.rec.Record(caller, Call{Action: "ses:SendEmail", Resource: "identity/" + identity})
	for _, c := range calls {
		s.rec.Record(caller, c)
	}
	return true
}

var scope = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/`)

// region is the request's SigV4 region, as SES writes it in messages (US-EAST-1).
func region(r *http.Request) string {
	if m := scope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return strings.ToUpper(m[1])
	}
	return "US-EAST-1"
}

// check applies the rules in the order SES reports them: the account first, then
// the request's shape, the configuration set, the sender, the recipients, and the
// content. It returns the identity the sender falls within and the extra calls to
// record.
func (s *SES) check(req *sendEmailRequest, region string) (string, []Call, *sesError) {
	s.mu.Lock()
	accountErr := s.accountErr
	s.mu.Unlock()
	if accountErr != "" {
		msg, ok := AccountErrors[accountErr]
		if !ok {
			msg = "Account-level error " + accountErr
		}
		return "", nil, &sesError{http.StatusBadRequest, accountErr, msg}
	}
	c := req.Content
	if c == nil {
		return "", nil, badRequest("Missing required parameter Content.")
	}
	n := 0
	for _, set := range []bool{c.Simple != nil, c.Raw != nil, c.Template != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "", nil, badRequest("Exactly one of Simple, Raw or Template content must be specified.")
	}
	var calls []Call
	if cs := req.ConfigurationSetName; cs != nil {
		s.mu.Lock()
		ok := s.configSets[*cs]
		s.mu.Unlock()
		if !ok {
			return "", nil, &sesError{http.StatusNotFound, "NotFoundException", fmt.Sprintf("Configuration set <%s> does not exist.", *cs)}
		}
		calls = append(calls, Call{Action: "ses:SendEmail", Resource: "configuration-set/" + *cs})
	}

	// Raw content is parsed first: its From, Sender and recipients take part in
	// the sender and recipient rules.
	var raw *rawMessage
	if c.Raw != nil {
		var err *sesError
		if raw, err = parseRaw(c.Raw.Data); err != nil {
			return "", nil, err
		}
	}

	// The sender: FromEmailAddress, and for Raw content the From and Sender
	// headers, must each fall within a verified identity.
	var senders []string
	if req.FromEmailAddress != nil {
		a, err := parseAddress(*req.FromEmailAddress)
		if err != nil {
			return "", nil, err
		}
		senders = append(senders, a)
	} else if raw == nil {
		return "", nil, badRequest("Missing required parameter FromEmailAddress.")
	}
	if raw != nil {
		senders = append(senders, raw.senders...)
	}
	if len(senders) == 0 {
		return "", nil, rejected("Missing required header 'From'.")
	}
	identity := ""
	var failed []string
	for i, a := range senders {
		id := s.identityOf(a)
		if id == "" {
			if !slices.Contains(failed, a) {
				failed = append(failed, a)
			}
			continue
		}
		if i == 0 {
			identity = id
		}
	}
	if len(failed) > 0 {
		return "", nil, notVerified(region, failed)
	}

	// The recipients: Destination, or for Raw content without one the To, Cc and
	// Bcc headers.
	var recipients []string
	if d := req.Destination; d != nil {
		for _, list := range [][]string{d.ToAddresses, d.CcAddresses, d.BccAddresses} {
			for _, to := range list {
				a, err := parseAddress(to)
				if err != nil {
					return "", nil, err
				}
				recipients = append(recipients, a)
			}
		}
	} else if raw != nil {
		recipients = raw.recipients
	}
	if len(recipients) == 0 {
		return "", nil, badRequest("Missing required parameter Destination: the message needs at least one recipient.")
	}
	if len(recipients) > MaxRecipients {
		return "", nil, badRequest("Recipient count exceeds %d.", MaxRecipients)
	}
	s.mu.Lock()
	sandbox := s.sandbox
	s.mu.Unlock()
	if sandbox {
		failed = nil
		for _, a := range recipients {
			if !s.mayReceive(a) && !slices.Contains(failed, a) {
				failed = append(failed, a)
			}
		}
		if len(failed) > 0 {
			return "", nil, notVerified(region, failed)
		}
	}

	if c.Simple != nil {
		if err := checkSimple(c.Simple); err != nil {
			return "", nil, err
		}
	}
	return identity, calls, nil
}

func notVerified(region string, ids []string) *sesError {
	return rejected("Email address is not verified. The following identities failed the check in region %s: %s", region, strings.Join(ids, ", "))
}

// parseAddress is the bare address of an RFC 5322 mailbox ("Name <a@b>" or
// "a@b"), refused as SES refuses it: no '@domain', or not 7-bit ASCII in the
// address (SES takes no SMTPUTF8: domains must be Punycode).
func parseAddress(s string) (string, *sesError) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		if !strings.Contains(s, "@") {
			return "", badRequest("Missing final '@domain'")
		}
		return "", badRequest("Illegal address")
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	notASCII := func(r rune) bool { return r > 126 || r < 33 }
	if strings.ContainsFunc(local, notASCII) {
		return "", badRequest("Local address contains control or whitespace")
	}
	if strings.ContainsFunc(domain, notASCII) {
		return "", badRequest("Domain contains illegal character")
	}
	return strings.ToLower(a.Address), nil
}

// identityOf is the verified identity an address falls within: the address
// itself, else its domain or the closest parent domain (SES: a verified domain
// covers its subdomains), else "".
func (s *SES) identityOf(addr string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identities[addr] {
		return addr
	}
	_, domain, ok := strings.Cut(addr, "@")
	for ok && domain != "" {
		if s.identities[domain] {
			return domain
		}
		_, domain, ok = strings.Cut(domain, ".")
	}
	return ""
}

// mayReceive says whether sandbox mode lets addr receive mail.
func (s *SES) mayReceive(addr string) bool {
	if strings.HasSuffix(addr, "@simulator.amazonses.com") {
		return true
	}
	if s.identityOf(addr) != "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recipients[addr]
}

// UnsupportedAttachmentExtensions are the file extensions SES refuses in
// attachments (https://docs.aws.amazon.com/ses/latest/dg/mime-types.html).
var UnsupportedAttachmentExtensions = strings.Fields(`.ade .adp .app .asp .bas .bat .cer
	.chm .cmd .com .cpl .crt .csh .der .exe .fxp .gadget .hlp .hta .inf .ins .isp .its .js
	.jse .ksh .lib .lnk .mad .maf .mag .mam .maq .mar .mas .mat .mau .mav .maw .mda .mdb
	.mde .mdt .mdw .mdz .msc .msh .msh1 .msh2 .mshxml .msh1xml .msh2xml .msi .msp .mst
	.ops .pcd .pif .plg .prf .prg .reg .scf .scr .sct .shb .shs .sys .ps1 .ps1xml .ps2
	.ps2xml .psc1 .psc2 .tmp .url .vb .vbe .vbs .vps .vsmacros .vss .vst .vsw .vxd .ws
	.wsc .wsf .wsh .xnk`)

func unsupportedAttachment(name string) bool {
	return slices.Contains(UnsupportedAttachmentExtensions, strings.ToLower(path.Ext(strings.TrimSpace(name))))
}

// checkSimple applies the rules of Simple content: subject and body, the custom
// headers' format, the attachments' names.
func checkSimple(m *simpleMessage) *sesError {
	if m.Subject == nil || m.Subject.Data == nil {
		return badRequest("Missing required parameter Subject.")
	}
	if m.Body == nil || (m.Body.Text == nil && m.Body.Html == nil) {
		return badRequest("Missing required parameter Body: give Text, Html or both.")
	}
	for _, h := range m.Headers {
		if h.Name == nil || h.Value == nil {
			return badRequest("A message header needs both Name and Value.")
		}
		name, value := *h.Name, *h.Value
		if name == "" || len(name) > 126 || strings.ContainsFunc(name, func(r rune) bool { return r < 33 || r > 126 || r == ':' }) {
			return badRequest("Invalid header name %q: up to 126 printable ASCII characters (33-126), no colon.", name)
		}
		if len(value) > 995 || len(name)+len(value) > 996 || strings.ContainsFunc(value, func(r rune) bool { return r < 32 || r > 126 }) {
			return badRequest("Invalid value of header %s: up to 995 printable ASCII characters, and name and value together up to 996.", name)
		}
	}
	for _, a := range m.Attachments {
		if a.FileName == nil || *a.FileName == "" {
			return badRequest("Missing required parameter FileName of an attachment.")
		}
		if len(*a.FileName) > 255 {
			return badRequest("Attachment file name is longer than 255 characters.")
		}
		if a.ContentType != nil && (len(*a.ContentType) < 1 || len(*a.ContentType) > 78) {
			return badRequest("Attachment ContentType must be 1 to 78 characters.")
		}
		if a.ContentId != nil && (len(*a.ContentId) < 1 || len(*a.ContentId) > 78) {
			return badRequest("Attachment ContentId must be 1 to 78 characters.")
		}
		if a.ContentDescription != nil && len(*a.ContentDescription) > 1000 {
			return badRequest("Attachment ContentDescription is longer than 1000 characters.")
		}
		if unsupportedAttachment(*a.FileName) {
			return rejected("Attachment file name %q has a file extension SES does not accept.", *a.FileName)
		}
	}
	return nil
}

// rawMessage is what the rules read from Raw content.
type rawMessage struct {
	senders    []string // From and Sender addresses
	recipients []string // To, Cc and Bcc addresses
}

// uniqueHeaders may appear at most once in a message (RFC 5322 section 3.6).
var uniqueHeaders = []string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Message-ID", "In-Reply-To", "References", "Subject"}

// parseRaw checks Raw content: its size, line lengths, header and body, unique
// headers, the attachments' names.
func parseRaw(encoded json.RawMessage) (*rawMessage, *sesError) {
	var b64 string
	if err := json.Unmarshal(encoded, &b64); err != nil {
		return nil, badRequest("Raw.Data must be a base64 string.")
	}
	if len(b64) > MaxMessageBytes {
		return nil, rejected("Message length is more than %d bytes long: '%d'.", MaxMessageBytes, len(b64))
	}
	var data []byte
	if err := json.Unmarshal(encoded, &data); err != nil {
		return nil, badRequest("Raw.Data is not valid base64: %v", err)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line)+1 > MaxLineLength { // +1: the LF; a CR is already in line
			return nil, rejected("Line %d of the message is longer than %d characters, CRLF included (RFC 5321).", i+1, MaxLineLength)
		}
	}
	if !bytes.Contains(data, []byte("\r\n\r\n")) && !bytes.Contains(data, []byte("\n\n")) {
		return nil, rejected("The message must have a header and a body, separated by a blank line.")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, rejected("Could not parse the message header: %v", err)
	}
	for _, h := range uniqueHeaders {
		if len(msg.Header[h]) > 1 {
			return nil, rejected("Duplicate header '%s'.", h)
		}
	}
	out := &rawMessage{}
	for _, h := range []string{"From", "Sender"} {
		if msg.Header.Get(h) == "" {
			continue
		}
		list, err := msg.Header.AddressList(h)
		if err != nil {
			return nil, badRequest("Illegal address in header '%s'.", h)
		}
		for _, a := range list {
			out.senders = append(out.senders, strings.ToLower(a.Address))
		}
	}
	if len(out.senders) == 0 {
		return nil, rejected("Missing required header 'From'.")
	}
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if msg.Header.Get(h) == "" {
			continue
		}
		list, err := msg.Header.AddressList(h)
		if err != nil {
			return nil, badRequest("Illegal address in header '%s'.", h)
		}
		for _, a := range list {
			out.recipients = append(out.recipients, strings.ToLower(a.Address))
		}
	}
	entity, err := message.Read(bytes.NewReader(data))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, rejected("Could not parse the MIME message: %v", err)
	}
	if err := entity.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		for _, name := range partFileNames(part.Header) {
			if unsupportedAttachment(name) {
				return &sesError{http.StatusBadRequest, "MessageRejected", fmt.Sprintf("Attachment file name %q has a file extension SES does not accept.", name)}
			}
		}
		return nil
	}); err != nil {
		var serr *sesError
		if errors.As(err, &serr) {
			return nil, serr
		}
		return nil, rejected("Each part of a multipart MIME message must be formatted properly: %v", err)
	}
	return out, nil
}

// partFileNames are the file names a MIME part gives itself: the filename
// parameter of Content-Disposition and the name parameter of Content-Type.
func partFileNames(h message.Header) []string {
	var out []string
	if _, params, err := h.ContentDisposition(); err == nil && params["filename"] != "" {
		out = append(out, params["filename"])
	}
	if _, params, err := h.ContentType(); err == nil && params["name"] != "" {
		out = append(out, params["name"])
	}
	return out
}
