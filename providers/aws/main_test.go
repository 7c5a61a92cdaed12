package aws

import (
	"os"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
)

// TestMain reports the tests skipped because dynalite is not installed.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
