package setup

import (
	"net/mail"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/afterparty/afterparty/shared/replies"
)

// Replies builds the handler of mail received on the reply domain: answers go
// through the site's RSVP path, forwards through the runner's send ledger.
func (a *App) Replies() (*replies.Handler, error) {
	from, err := mail.ParseAddress(a.Config.From)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(a.AWS, func(o *s3.Options) {
		// A local endpoint (AWS_ENDPOINT_URL_S3) serves path-style addressing only.
		o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	})
	return &replies.Handler{
		Store: a.Store, Meetings: a.Runner.Meetings, Answers: a.Site, Forward: a.Runner.Forward,
		Signer: a.Signer, S3: client, Bucket: a.Config.InboundBucket, Prefix: a.Config.InboundPrefix,
		ReplyDomain: a.Config.ReplyDomain, From: *from, Clock: time.Now, Log: a.Log,
	}, nil
}
