// Command strictstack serves the strict layers (infra/strict) in front of the
// running emulators, for `make stack` and `make run` (infra/stack.sh starts it):
//
//	strictstack -dynamodb 127.0.0.1:8000=http://127.0.0.1:41000 -ses 127.0.0.1:8005=http://127.0.0.1:41001
//
// It runs until it is sent SIGINT or SIGTERM.
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
	flag.Parse()
	if err := run(*dynamo, *ses); err != nil {
		fmt.Fprintln(os.Stderr, "strictstack:", err)
		os.Exit(1)
	}
}

func run(dynamo, ses string) error {
	dl, du, ok1 := strings.Cut(dynamo, "=")
	sl, su, ok2 := strings.Cut(ses, "=")
	if !ok1 || !ok2 {
		return errors.New("both -dynamodb LISTEN=UPSTREAM and -ses LISTEN=UPSTREAM are required")
	}
	d, err := strict.NewDynamo(du, nil)
	if err != nil {
		return err
	}
	s, err := strict.NewSESLayer(su, nil)
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
