package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/internal/timespec"
)

// TestTimeFlagsHelp: every --since/--until states the one grammar
// (internal/timespec) in its help text.
func TestTimeFlagsHelp(t *testing.T) {
	f := &cmdutil.Factory{}
	for _, tt := range []struct {
		cmd   *cobra.Command
		flag  string
		forms string
	}{
		{newCmdTailWith(f, nil), "since", timespec.PointForms},
		{newCmdReplay(f), "since", timespec.PointForms},
		{newCmdReplay(f), "until", "the forms --since takes"},
		{newCmdFilterTest(f, nil), "since", timespec.PointForms},
		{newCmdTuneMemory(f, nil), "since", timespec.DurationForms},
	} {
		fl := tt.cmd.Flags().Lookup(tt.flag)
		if fl == nil || !strings.Contains(fl.Usage, tt.forms) {
			t.Errorf("%s --%s help does not state the accepted forms: %v", tt.cmd.Name(), tt.flag, fl)
		}
	}
}
