// Package testenv lets a test that needs something outside Go (an emulator,
// an interpreter, a package download) skip with a reason that a plain
// `go test ./...` shows.
//
// `go test` in package-list mode prints nothing but "ok" for a passing
// package, so a t.Skip message is seen only with -v. A package whose tests
// call Skip runs them through Main, which after the tests prints one line
// per missing dependency, with the count of tests it cost and the fix, to
// the controlling terminal when there is one (where the person who typed
// `go test` reads it) and to stderr otherwise (seen with -v, -json, or
// when the package fails). Set EVCLI_TEST_REQUIRE=1 to make such a skip a
// failure instead (a CI job that installed everything).
//
// Only tests import this package.
package testenv

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	missing = map[string]*entry{} // by what
)

type entry struct {
	fix   string
	tests []string
}

// Skip skips t because what (e.g. "dynalite", "python3 with boto3") is not
// available, recording it for Main; fix says how to get it. With
// EVCLI_TEST_REQUIRE set the test fails instead.
func Skip(t testing.TB, what, fix string) {
	t.Helper()
	if os.Getenv("EVCLI_TEST_REQUIRE") != "" {
		t.Fatalf("needs %s, which is missing (EVCLI_TEST_REQUIRE is set): %s", what, fix)
	}
	mu.Lock()
	e := missing[what]
	if e == nil {
		e = &entry{fix: fix}
		missing[what] = e
	}
	e.tests = append(e.tests, t.Name())
	mu.Unlock()
	t.Skipf("needs %s: %s", what, fix)
}

// Main runs the tests, then reports the skips Skip recorded; it returns the
// exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	if s := Summary(); s != "" {
		var w io.Writer = os.Stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		fmt.Fprint(w, s)
	}
	return code
}

// Summary is Main's report: one line per missing dependency, "" when
// nothing was skipped.
func Summary() string {
	mu.Lock()
	defer mu.Unlock()
	whats := make([]string, 0, len(missing))
	for w := range missing {
		whats = append(whats, w)
	}
	sort.Strings(whats)
	var b strings.Builder
	for _, w := range whats {
		e := missing[w]
		fmt.Fprintf(&b, "%s: skipped %d test(s) that need %s (%s): %s\n",
			pkgName(), len(e.tests), w, strings.Join(e.tests, ", "), e.fix)
	}
	return b.String()
}

// pkgName is the test binary's package, from its name ("aws.test").
func pkgName() string {
	name := os.Args[0]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSuffix(name, ".exe"), ".test")
}
