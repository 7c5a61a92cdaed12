package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
