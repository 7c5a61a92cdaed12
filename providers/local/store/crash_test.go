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

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(childWriter(dir))
	}
	os.Exit(m.Run())
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
