package setup

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/links"
	"github.com/afterparty/afterparty/shared/web"
)

// SecretsManager is the part of the Secrets Manager client the link signer reads.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// linkKeys is the one link signer of a process and how to read its keys again.
// Everything that signs or verifies (the runner's links, the site) holds the same
// *links.Signer; a reload replaces its keys in place, so all of them move on at
// once after a rotation.
type linkKeys struct {
	signer *links.Signer
	sm     SecretsManager
	arn    string
	clock  func() time.Time

	mu     sync.Mutex
	loaded time.Time
}

func newLinkKeys(ctx context.Context, sm SecretsManager, arn string, clock func() time.Time) (*linkKeys, error) {
	s, err := signerFrom(ctx, sm, arn)
	if err != nil {
		return nil, err
	}
	return &linkKeys{signer: s, sm: sm, arn: arn, clock: clock, loaded: clock()}, nil
}

// Reload reads the secret again, unless it was read less than web.KeyReloadEvery ago,
// and returns the (shared) signer. On an error the signer keeps the keys it has.
func (k *linkKeys) Reload(ctx context.Context) (*links.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock()
	if now.Sub(k.loaded) < web.KeyReloadEvery {
		return k.signer, nil
	}
	k.loaded = now // a failing read is not retried on every call either
	s, err := signerFrom(ctx, k.sm, k.arn)
	if err != nil {
		return k.signer, err
	}
	k.signer.Replace(s)
	return k.signer, nil
}

// signerFrom builds the link signer from the Secrets Manager secret: its current
// version signs; its previous version is still accepted until the longest-lived
// link it can have signed has expired, so a rotation never breaks a link already
// sent.
func signerFrom(ctx context.Context, sm SecretsManager, arn string) (*links.Signer, error) {
	cur, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return nil, fmt.Errorf("read link-signing secret: %w", err)
	}
	if aws.ToString(cur.SecretString) == config.DevLinkSecret {
		return nil, fmt.Errorf("link-signing secret %s holds the local development default: put a secret of your own in it", arn)
	}
	s, err := links.NewSigner(keyID(cur.VersionId), []byte(aws.ToString(cur.SecretString)))
	if err != nil {
		return nil, fmt.Errorf("link-signing secret %s: %w", arn, err)
	}
	prev, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn, VersionStage: aws.String("AWSPREVIOUS")})
	if err == nil && keyID(prev.VersionId) != keyID(cur.VersionId) {
		acceptPrevious(s, keyID(prev.VersionId), []byte(aws.ToString(prev.SecretString)), cur.CreatedDate)
	}
	return s, nil
}
