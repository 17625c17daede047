package strict

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Secrets is a small local stand-in for AWS Secrets Manager's GetSecretValue, the
// one call the functions make (setup.Signer reads the link-signing secret, its
// AWSCURRENT and AWSPREVIOUS versions). There is no emulator for it among the pinned
// ones, so the local stack serves it here, with AWS's JSON protocol (awsJson1_1) and
// its ResourceNotFoundException, so that the functions' tests read the secret the
// way they do on AWS (AFTERPARTY_LINK_SECRET_ARN) and the recorder sees the call.
type Secrets struct {
	rec *Recorder

	mu      sync.Mutex
	secrets map[string]*secret // by ARN
	seq     int
}

type secret struct {
	current, previous *secretVersion
}

type secretVersion struct {
	id, value string
	created   time.Time
}

// NewSecrets is an empty store. rec may be nil.
func NewSecrets(rec *Recorder) *Secrets {
	return &Secrets{rec: rec, secrets: map[string]*secret{}}
}

// Put rotates the secret named arn to value: the version that was current becomes
// AWSPREVIOUS. The first Put creates the secret. It returns the new version's id.
func (s *Secrets) Put(arn, value string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	v := &secretVersion{id: fmt.Sprintf("v%07d-local", s.seq), value: value, created: now}
	sec := s.secrets[arn]
	if sec == nil {
		sec = &secret{}
		s.secrets[arn] = sec
	}
	sec.previous, sec.current = sec.current, v
	return v.id
}

func (s *Secrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	if r.Method != http.MethodPost || !ok {
		http.Error(w, "only Secrets Manager API calls are served here", http.StatusNotFound)
		return
	}
	var in struct{ SecretId, VersionStage, VersionId string }
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &in); err != nil || in.SecretId == "" {
		writeSecretsError(w, "InvalidParameterException", "You must provide a SecretId.")
		return
	}
	s.rec.Record(Caller(r), Call{Action: "secretsmanager:" + op, Resource: "secret/" + in.SecretId})
	if op != "GetSecretValue" {
		writeSecretsError(w, "InvalidRequestException", "The local stack serves only GetSecretValue.")
		return
	}
	s.mu.Lock()
	sec := s.secrets[in.SecretId]
	var v *secretVersion
	stage := in.VersionStage
	if stage == "" {
		stage = "AWSCURRENT"
	}
	if sec != nil {
		switch stage {
		case "AWSCURRENT":
			v = sec.current
		case "AWSPREVIOUS":
			v = sec.previous
		}
	}
	s.mu.Unlock()
	if v == nil {
		writeSecretsError(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": in.SecretId, "Name": in.SecretId, "SecretString": v.value, "VersionId": v.id,
		"VersionStages": []string{stage}, "CreatedDate": float64(v.created.UnixMilli()) / 1000,
	})
}

func writeSecretsError(w http.ResponseWriter, kind, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
}
