package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSharedWritesIsolateFailures: writes queued together share one
// transaction, but a write that fails leaves nothing behind and the others
// commit; two handles on one file share the writer.
func TestSharedWritesIsolateFailures(t *testing.T) {
	ctx := context.Background()
	a := openTest(t, "")
	b, err := Open(a.path[:len(a.path)-len(FileName)-1], WithSynchronous("NORMAL"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.wr != b.wr {
		t.Fatal("two handles on one file have separate writers")
	}
	boom := errors.New("boom")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		db := a
		if i%3 == 0 {
			db = b
		}
		wg.Go(func() {
			errs[i] = db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO kv (ns, key, value) VALUES ('t', ?, 'v')`, fmt.Sprint(i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%2 == 1; (err != nil) != want || (want && !errors.Is(err, boom)) {
			t.Errorf("write %d: err = %v", i, err)
		}
		_, ok, err := a.GetKV(ctx, "t", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		if ok != (i%2 == 0) {
			t.Errorf("write %d: stored = %v", i, ok)
		}
	}
	// A cancelled context before the write starts: nothing written.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.PutKV(cctx, "t", "cancelled", []byte("v")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled put: %v", err)
	}
	if _, ok, _ := a.GetKV(ctx, "t", "cancelled"); ok {
		t.Error("a cancelled put was stored")
	}
}

// TestGroupRunsOnceOrRetriesWithSavepoints: writes queued together run
// once, without savepoints; when one fails, the transaction is undone and
// they run again, each in a savepoint, so that the others commit once and
// the failed one leaves nothing.
func TestGroupRunsOnceOrRetriesWithSavepoints(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	boom := errors.New("boom")
	for _, failing := range []bool{false, true} {
		ns := fmt.Sprint("group-", failing)
		release := make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				<-release // hold the writer while the others queue
				return nil
			})
		}()
		// Wait until the first write leads, then queue three behind it.
		for {
			db.wr.mu.Lock()
			leading := db.wr.leading
			db.wr.mu.Unlock()
			if leading {
				break
			}
			runtime.Gosched()
		}
		var runs [3]atomic.Int32
		errs := make([]chan error, 3)
		for i := range 3 {
			errs[i] = make(chan error, 1)
			go func() {
				errs[i] <- db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					runs[i].Add(1)
					if _, err := tx.ExecContext(ctx, `INSERT INTO kv (ns, key, value) VALUES (?, ?, 'v')`, ns, fmt.Sprint(i)); err != nil {
						return err // a second insert of the key would fail here
					}
					if failing && i == 1 {
						return boom
					}
					return nil
				})
			}()
			for { // in queue order
				db.wr.mu.Lock()
				n := len(db.wr.queue)
				db.wr.mu.Unlock()
				if n == i+1 {
					break
				}
				runtime.Gosched()
			}
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			err := <-errs[i]
			wantErr := failing && i == 1
			if (err != nil) != wantErr || wantErr && !errors.Is(err, boom) {
				t.Errorf("failing=%v: write %d: %v", failing, i, err)
			}
			_, stored, gerr := db.GetKV(ctx, ns, fmt.Sprint(i))
			if gerr != nil {
				t.Fatal(gerr)
			}
			if stored == wantErr {
				t.Errorf("failing=%v: write %d stored = %v", failing, i, stored)
			}
			want := int32(1)
			if failing && i != 2 {
				want = 2 // ran, was undone with the group, ran again in a savepoint
			}
			if failing && i == 2 {
				want = 1 // after the failure: only in the savepoint pass
			}
			if got := runs[i].Load(); got != want {
				t.Errorf("failing=%v: write %d ran %d times, want %d", failing, i, got, want)
			}
		}
	}
}
