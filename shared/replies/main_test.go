package replies_test

import (
	"os"
	"testing"

	"github.com/afterparty/afterparty/infra/localstack"
)

func TestMain(m *testing.M) { os.Exit(localstack.Run(m)) }
