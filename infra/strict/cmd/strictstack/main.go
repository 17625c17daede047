// Command strictstack serves the strict layers (infra/strict) in front of the
// running emulators, for `make stack` and `make run` (infra/stack.sh starts it):
//
//	strictstack -dynamodb 127.0.0.1:8000=http://127.0.0.1:41000 -ses 127.0.0.1:8005=http://127.0.0.1:41001
//
// The SES layer's sandbox mode and account-level errors can be switched while it
// runs, through its admin paths under /_strict/ses/ (infra/strict/ses.go). It runs
// until it is sent SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/afterparty/afterparty/infra/strict"
)

func main() {
	dynamo := flag.String("dynamodb", "", "LISTEN=UPSTREAM: the DynamoDB layer's address and dynalite's URL")
	ses := flag.String("ses", "", "LISTEN=UPSTREAM: the SES layer's address and aws-ses-v2-local's URL")
	identities := flag.String("identities", "afterparty.example", "comma-separated verified SES identities (domains or addresses)")
	configSets := flag.String("configuration-sets", "afterparty-local", "comma-separated SES configuration sets that exist")
	flag.Parse()
	opt := strict.SESOptions{Identities: split(*identities), ConfigurationSets: split(*configSets)}
	if err := run(*dynamo, *ses, opt); err != nil {
		fmt.Fprintln(os.Stderr, "strictstack:", err)
		os.Exit(1)
	}
}

func split(list string) []string {
	var out []string
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func run(dynamo, ses string, opt strict.SESOptions) error {
	dl, du, ok1 := strings.Cut(dynamo, "=")
	sl, su, ok2 := strings.Cut(ses, "=")
	if !ok1 || !ok2 {
		return errors.New("both -dynamodb LISTEN=UPSTREAM and -ses LISTEN=UPSTREAM are required")
	}
	d, err := strict.NewDynamo(du, nil)
	if err != nil {
		return err
	}
	s, err := strict.NewSES(su, opt)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errs := make(chan error, 2)
	var servers []*http.Server
	for _, l := range []struct {
		addr string
		h    http.Handler
	}{{dl, d}, {sl, s}} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { errs <- srv.Serve(ln) }()
	}
	fmt.Printf("strict layers listening: DynamoDB %s -> %s, SES %s -> %s\n", dl, du, sl, su)
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	for _, srv := range servers {
		srv.Close()
	}
	return nil
}
