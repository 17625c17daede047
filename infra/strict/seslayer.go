package strict

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// NewSESLayer is the layer in front of the SES emulator, as the local stack runs
// it. (Until the strict SES layer lands it forwards unchanged.)
func NewSESLayer(upstream string, _ *Recorder) (http.Handler, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	return httputil.NewSingleHostReverseProxy(u), nil
}
