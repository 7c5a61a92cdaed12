package templates

import (
	"os"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
)

// TestMain reports the tests skipped for a missing interpreter or SDK.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
