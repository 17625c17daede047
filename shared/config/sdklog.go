package config

import (
	"os"
	"strings"

	"github.com/aws/smithy-go/logging"
)

// sdkLogger is the SDK's own logger (stderr) less smithy-go's warnings that it
// could not drain or close a response body ("..., this may affect connection
// reuse"). The answer was already read and handled, or its error returned to the
// caller; only that connection is not reused. A run that stops while requests are
// in flight printed one per request, on every run, for nothing anyone can act on.
type sdkLogger struct{ next logging.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if c == logging.Warn && strings.HasSuffix(format, "this may affect connection reuse: %v") {
		return
	}
	l.next.Logf(c, format, v...)
}

// SDKLogger is the logger every AWS client is built with (AWS installs it).
func SDKLogger() logging.Logger { return sdkLogger{next: logging.NewStandardLogger(os.Stderr)} }
