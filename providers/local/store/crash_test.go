package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// childEnv makes the test binary act as a writer process (see TestMain).
const childEnv = "EVCLI_STORE_TEST_WRITER_DIR"

// logWriterEnv makes the test binary append log lines and exit (see
// TestLogsFollowAcrossProcesses).
const logWriterEnv = "EVCLI_STORE_TEST_LOG_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(childWriter(dir))
	}
	if spec := os.Getenv(logWriterEnv); spec != "" {
		os.Exit(childLogWriter(spec))
	}
	os.Exit(m.Run())
}

// childLogWriter appends lines "0".."n-1" of function fn in small batches;
// spec is "dir|fn|n".
func childLogWriter(spec string) int {
	parts := strings.Split(spec, "|")
	var n int
	fmt.Sscan(parts[2], &n)
	db, err := Open(parts[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	for i := 0; i < n; i += 5 {
		var ls []providers.LogLine
		for j := i; j < min(i+5, n); j++ {
			ls = append(ls, providers.LogLine{Function: parts[1], RequestID: "r", Message: fmt.Sprint(j)})
		}
		if err := db.AppendLogs(context.Background(), ls); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestLogsFollowAcrossProcesses: two writer processes append at once while
// this one follows; every line arrives once, in seq order.
func TestLogsFollowAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	reader := openTest(t, dir, WithPollInterval(5*time.Millisecond))
	ch, errc := reader.Logs(ctx, providers.LogQuery{Follow: true})
	const n = 400
	var cmds []*exec.Cmd
	for _, fn := range []string{"p1", "p2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), logWriterEnv+"="+dir+"|"+fn+"|"+fmt.Sprint(n))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	seen := map[string]bool{}
	var last int64
	for len(seen) < 2*n {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended: %v", <-errc)
			}
			var seq int64
			fmt.Sscan(l.Token, &seq)
			key := l.Function + "/" + l.Message
			if seq <= last || seen[key] {
				t.Fatalf("%s (seq %d after %d): duplicate or out of order", key, seq, last)
			}
			last = seq
			seen[key] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d lines arrived", len(seen), 2*n)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
}

// childWriter appends events one small batch at a time until killed, and
// prints each id once AppendEvents has acknowledged it.
func childWriter(dir string) int {
	db, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		batch := []providers.StoredEvent{
			ev(fmt.Sprintf("child-%d-a", i), "T", time.Now(), fmt.Sprintf(`{"aggregateId":"a","version":%d}`, 2*i+1)),
			ev(fmt.Sprintf("child-%d-b", i), "T", time.Now(), fmt.Sprintf(`{"aggregateId":"a","version":%d}`, 2*i+2)),
		}
		if _, err := db.AppendEvents(context.Background(), batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, e := range batch {
			fmt.Fprintln(out, e.ID)
		}
		out.Flush()
	}
}

// TestKill9KeepsAcknowledgedEvents runs a writer process, kill -9s it in the
// middle of its stream while this process appends too, then checks that every
// event the child acknowledged is stored.
func TestKill9KeepsAcknowledgedEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	parent := openTest(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	// Write from this process concurrently, as `send` next to `serve` would.
	stop := make(chan struct{})
	parentDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				parentDone <- n
				return
			default:
			}
			if _, err := parent.AppendEvents(context.Background(), []providers.StoredEvent{ev(fmt.Sprint("parent-", n), "T", t0, `{}`)}); err != nil {
				t.Error(err)
			}
			n++
			// SQLite's busy handler is not fair: a writer appending in a
			// tight loop can hold the lock for longer than the child's
			// busy timeout on a loaded machine (the child then died with
			// SQLITE_BUSY after 6 events at load 17). A pause between
			// appends is how a real second writer (send next to serve)
			// behaves.
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for sc.Scan() {
		acked[sc.Text()] = true
		if len(acked) == 300 {
			// Kill mid-stream: the child is between appends or inside one.
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	close(stop)
	parentN := <-parentDone
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d events before dying", len(acked))
	}

	// A fresh handle, as the next evcli run would open it.
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	var lastVersion int64
	for e, err := range db.Events(context.Background(), providers.EventQuery{AggregateIDs: []string{"a"}}) {
		if err != nil {
			t.Fatal(err)
		}
		stored[e.ID] = true
		if e.AggregateVersion != lastVersion+1 {
			t.Fatalf("child stream has a hole: version %d after %d", e.AggregateVersion, lastVersion)
		}
		lastVersion = e.AggregateVersion
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged event %s is missing after kill -9", id)
		}
	}
	var np int
	db.r.QueryRow(`SELECT count(*) FROM events WHERE id LIKE 'parent-%'`).Scan(&np)
	if np != parentN {
		t.Errorf("parent appended %d, store has %d", parentN, np)
	}
	if !strings.HasPrefix(db.Path(), dir) {
		t.Fatal(db.Path())
	}
	t.Logf("child acknowledged %d events (%d stored, the rest committed but not yet printed); parent appended %d", len(acked), len(stored), parentN)
}
