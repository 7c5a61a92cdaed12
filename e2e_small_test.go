package main

// End-to-end tests of the smaller items of issue #15.

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers/local/store"
)

// send --wait --timeout 1s gives up after about a second, also in Close:
// it does not wait for the deliveries still running (10.7 s before), and
// says they are left to the next process.
func TestSendWaitTimeoutEndsTheCommand(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "python")
	dir := writeProject(t, `project: slow
functions:
  slow:
    source: fns/slow
    runtime: python3.12
    handler: app.handler
    timeout: 60
    events:
      - pattern: {source: [shop]}
`, map[string]string{
		"fns/slow/app.py": "import time\n\ndef handler(event, context):\n    time.sleep(30)\n    return {}\n",
		"ev.json":         `{"source":"shop","detail-type":"X","detail":{}}`,
	})
	must(t, dir, "deploy")
	start := time.Now()
	r := run(t, dir, "", "send", "ev.json", "--wait", "--timeout", "1s")
	took := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, "gave up waiting after 1s (--timeout)") || !strings.Contains(r.stderr, "stopped with 1 delivery pending") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("exit %d, want 1, the timeout and what is pending\n%s", r.code, r.stderr)
	}
	t.Logf("send --wait --timeout 1s took %s (the handler sleeps 30 s)", took.Round(10*time.Millisecond))
}

// A send file with one entry over 256 KB is refused whole on local, as on
// AWS: exit 2, the entry named, no event stored.
func TestSendRefusesAFileWithAnEntryOver256KB(t *testing.T) {
	t.Parallel()
	big := `{"source":"shop","detail-type":"Big","detail":{"pad":"` + strings.Repeat("x", 300*1024) + `"}}`
	dir := writeProject(t, `project: big
functions:
  f:
    source: fns/f
    runtime: python3.12
    handler: app.handler
    timeout: 60 # a loaded machine must not turn this test into a timeout test
    events:
      - pattern: {source: [shop]}
`, map[string]string{
		"fns/f/app.py": "def handler(event, context):\n    return {}\n",
		"events.ndjson": `{"source":"shop","detail-type":"Small","detail":{}}` + "\n" + big + "\n" +
			`{"source":"shop","detail-type":"Small","detail":{}}` + "\n",
	})
	r := run(t, dir, "", "send", "events.ndjson")
	if r.code != 2 || !strings.Contains(r.stderr, "event 1 (shop Big) is ") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("exit %d, want 2 naming event 1\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".evcli", "state.db")); err == nil {
		db, err := store.Open(filepath.Join(dir, ".evcli"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if n, _ := db.LastEventSeq(context.Background()); n != 0 {
			t.Fatalf("%d events stored after a refused send", n)
		}
	}
}

// tail and replay --dry-run work in a project this user cannot write (a
// read-only checkout or mount): the store opens read-only. As root, whom
// file modes do not stop, the commands run as nobody.
func TestReadOnlyProjectTailAndReplayDryRun(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "python")
	dir := writeProject(t, `project: ro
functions:
  f:
    source: fns/f
    runtime: python3.12
    handler: app.handler
    timeout: 60
    events:
      - pattern: {source: [shop]}
`, map[string]string{
		"fns/f/app.py": "def handler(event, context):\n    print('handled', flush=True)\n    return {}\n",
		"ev.json":      `{"source":"shop","detail-type":"X","detail":{}}`,
	})
	must(t, dir, "deploy")
	must(t, dir, "send", "ev.json", "--wait")
	for _, f := range []string{"state.db-wal", "state.db-shm"} {
		if _, err := os.Stat(filepath.Join(dir, ".evcli", f)); err == nil {
			t.Fatalf("%s left after the last command: the test wants a WAL database without it", f)
		}
	}
	bin := evcliBin
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// nobody needs to reach the binary and the project.
		root := filepath.Dir(dir)
		bin = filepath.Join(root, "evcli")
		data, err := os.ReadFile(evcliBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o555); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(root, func(p string, _ fs.DirEntry, _ error) error { return os.Chown(p, 65534, 65534) })
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, _ error) error {
		if fi, err := e.Info(); err == nil {
			os.Chmod(p, fi.Mode().Perm()&^0o222)
		}
		return nil
	})
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, e fs.DirEntry, _ error) error {
			if fi, err := e.Info(); err == nil {
				os.Chmod(p, fi.Mode().Perm()|0o200)
			}
			return nil
		})
	})
	runRO := func(args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), budget(2*time.Minute))
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+filepath.Dir(dir))
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("evcli %v: %v", args, err)
		}
		return result{out.String(), errb.String(), code}
	}
	r := runRO("tail", "--since", "1h", "--follow=false", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"message":"handled"`) {
		t.Errorf("tail in a read-only project: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runRO("replay", "--since", "1h", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "1 event would be published") {
		t.Errorf("replay --dry-run in a read-only project: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
