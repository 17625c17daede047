package strict

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// S3 is a small in-memory stand-in for Amazon S3: GetObject, the call the
// replies function makes (it reads each message the SES receipt rule's S3 action
// stored), and PutObject, so that a test can store a message the way SES does. It
// serves path-style addressing (http://host/<bucket>/<key>), REST-XML, with S3's
// own error codes (NoSuchKey, NoSuchBucket, KeyTooLongError). There is no S3
// emulator among the pinned ones, and the project needs only these two calls; the
// recorder sees each as Call{"s3:GetObject", "bucket/<name>"}.
type S3 struct {
	rec *Recorder

	mu      sync.Mutex
	buckets map[string]map[string]s3Object
	now     func() time.Time
}

type s3Object struct {
	body     []byte
	etag     string
	modified time.Time
}

// maxKeyBytes is S3's limit on an object key: 1,024 bytes of UTF-8 (Amazon S3 User
// Guide, "Naming Amazon S3 objects").
const maxKeyBytes = 1024

// NewS3 is a store with the given buckets and no objects. rec may be nil.
func NewS3(rec *Recorder, buckets ...string) *S3 {
	s := &S3{rec: rec, buckets: map[string]map[string]s3Object{}, now: time.Now}
	for _, b := range buckets {
		s.CreateBucket(b)
	}
	return s
}

// CreateBucket adds an empty bucket; an existing bucket is kept as it is.
func (s *S3) CreateBucket(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		s.buckets[name] = map[string]s3Object{}
	}
}

// Put stores body under bucket/key, as the SES receipt rule's S3 action does,
// creating the bucket if needed. It records nothing: it is the test's hand, not a
// function's call.
func (s *S3) Put(bucket, key string, body []byte) {
	s.CreateBucket(bucket)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[bucket][key] = newObject(body, s.now())
}

func newObject(body []byte, now time.Time) s3Object {
	sum := md5.Sum(body)
	return s3Object{body: bytes.Clone(body), etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: now.UTC().Truncate(time.Second)}
}

func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" || key == "" {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "The local S3 serves only GetObject and PutObject, path-style (/bucket/key).", "")
		return
	}
	var action string
	switch r.Method {
	case http.MethodGet:
		action = "s3:GetObject"
	case http.MethodPut:
		action = "s3:PutObject"
	default:
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "The local S3 serves only GetObject and PutObject.", key)
		return
	}
	if r.URL.Query().Has("x-id") && r.URL.Query().Get("x-id") != strings.TrimPrefix(action, "s3:") {
		writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented", "The local S3 serves only GetObject and PutObject.", key)
		return
	}
	s.rec.Record(Caller(r), Call{Action: action, Resource: "bucket/" + bucket})
	if len(key) > maxKeyBytes {
		writeS3Error(w, r, http.StatusBadRequest, "KeyTooLongError", "Your key is too long", "")
		return
	}
	s.mu.Lock()
	objects := s.buckets[bucket]
	s.mu.Unlock()
	if objects == nil {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "")
		return
	}
	if r.Method == http.MethodPut {
		s.putObject(w, r, bucket, key)
		return
	}
	s.mu.Lock()
	obj, ok := objects[key]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "binary/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(obj.body)))
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.modified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(obj.body)
}

func (s *S3) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", key)
		return
	}
	// The SDK streams a body with a trailing checksum in aws-chunked encoding.
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		if body, err = decodeAWSChunked(body); err != nil {
			writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "The aws-chunked body cannot be read: "+err.Error(), key)
			return
		}
	}
	if n := r.Header.Get("X-Amz-Decoded-Content-Length"); n != "" && n != strconv.Itoa(len(body)) {
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.", key)
		return
	}
	obj := newObject(body, s.now())
	s.mu.Lock()
	s.buckets[bucket][key] = obj
	s.mu.Unlock()
	w.Header().Set("ETag", obj.etag)
	w.WriteHeader(http.StatusOK)
}

// decodeAWSChunked reads a body in aws-chunked content encoding: hex size (and
// ;chunk-signature=...), CRLF, data, CRLF, ..., a zero-size chunk, trailers.
func decodeAWSChunked(b []byte) ([]byte, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, errors.New("a chunk has no size line")
		}
		size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("chunk size %q", size)
		}
		if n == 0 {
			return out.Bytes(), nil // trailers (checksums) follow; not checked here
		}
		if _, err := io.CopyN(&out, r, n); err != nil {
			return nil, fmt.Errorf("a chunk is shorter than its size %d", n)
		}
		if crlf, err := r.ReadString('\n'); err != nil || strings.TrimSpace(crlf) != "" {
			return nil, errors.New("a chunk does not end with CRLF")
		}
	}
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg, key string) {
	reqID := strconv.FormatInt(time.Now().UnixNano(), 36)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", reqID)
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Key       string `xml:",omitempty"`
		RequestID string `xml:"RequestId"`
	}{Code: code, Message: msg, Key: key, RequestID: reqID})
}
