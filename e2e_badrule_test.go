package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers/local/store"
)

// A typo'd pattern is refused by validate and deploy at file:line:col, in
// the words filter test --rule uses, with exit 2 and nothing saved.
func TestInvalidPatternRefusedAtValidateAndDeploy(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	good := `project: rules
functions:
  ok:
    source: fns/ok
    runtime: nodejs20.x
    handler: index.handler
    timeout: 60
    events:
      - pattern: {source: [shop.orders]}
`
	for _, tc := range []struct{ pattern, want string }{
		{`{detail-type: [{prefx: Order}]}`, `evcli.yaml:16:18: functions.typo.events[0].pattern: pattern: detail-type[0].prefx: unknown operator "prefx"; did you mean "prefix"?`},
		{`{source: shop.orders}`, `evcli.yaml:16:18: functions.typo.events[0].pattern: pattern: source: a field's value must be an array`},
	} {
		dir := writeProject(t, good+`  typo:
    source: fns/ok
    runtime: nodejs20.x
    handler: index.handler
    timeout: 60
    events:
      - pattern: `+tc.pattern+"\n", map[string]string{
			"fns/ok/index.js": `exports.handler = async () => ({});`,
		})
		for _, args := range [][]string{{"validate"}, {"deploy"}, {"filter", "test", "--rule", "typo", "--event", "-"}} {
			r := run(t, dir, `{"source":"shop.orders","detail-type":"Order","detail":{}}`, args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("evcli %s with pattern %s: exit %d, want 2 and %q\n%s", strings.Join(args, " "), tc.pattern, r.code, tc.want, r.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, ".evcli", "state.db")); err == nil {
			db, err := store.Open(filepath.Join(dir, ".evcli"))
			if err != nil {
				t.Fatal(err)
			}
			fns, _ := db.Functions(context.Background())
			db.Close()
			if len(fns) != 0 {
				t.Errorf("a refused deploy saved %d functions", len(fns))
			}
		}
	}
}
