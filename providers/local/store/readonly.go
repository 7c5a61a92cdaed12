package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// OpenReader opens dir/state.db for a command that only reads it (tail,
// replay --dry-run, filter test --since): as Open does, or, when this user
// cannot write the project (a read-only checkout or mount, another user's
// project), read-only (OpenReadOnly). A write through a read-only handle
// fails with an error saying so.
func OpenReader(dir string, opts ...Option) (*DB, error) {
	db, err := Open(dir, opts...)
	if err == nil || !cannotWrite(err) {
		return db, err
	}
	if rdb, rerr := OpenReadOnly(dir, opts...); rerr == nil {
		return rdb, nil
	}
	return nil, err
}

// cannotWrite reports whether err says the store could not be written
// (permissions, a read-only file system or database).
func cannotWrite(err error) bool {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, errReadOnlyFS) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			return true
		}
	}
	return false
}

// errReadOnlyFS matches EROFS where the platform has it (see readonly_*.go).
var errReadOnlyFS = errors.New("read-only file system")

// OpenReadOnly opens an existing dir/state.db for reading only: nothing is
// created, chmod-ed or migrated. When SQLite cannot read the database in
// place (a WAL database needs its -shm file, which it cannot create in a
// directory it cannot write), it opens the file as immutable: no other
// process can change it there either.
func OpenReadOnly(dir string, opts ...Option) (*DB, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	d := &DB{path: path, poll: 100 * time.Millisecond, now: time.Now, sync: "FULL", notify: make(chan struct{})}
	for _, o := range opts {
		o(d)
	}
	var lastErr error
	for _, extra := range []string{"", "immutable=1"} {
		v := url.Values{}
		v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
		v.Add("_pragma", "query_only(1)")
		v.Set("mode", "ro")
		if extra != "" {
			k, val, _ := strings.Cut(extra, "=")
			v.Set(k, val)
		}
		r, err := sql.Open("sqlite", "file:"+uriEscaper.Replace(path)+"?"+v.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		r.SetMaxOpenConns(4)
		r.SetMaxIdleConns(4)
		var ver int
		if err := r.QueryRowContext(context.Background(), "PRAGMA user_version").Scan(&ver); err != nil {
			r.Close()
			lastErr = err
			continue
		}
		if ver != SchemaVersion {
			r.Close()
			if ver > SchemaVersion {
				return nil, fmt.Errorf("store: %s has schema version %d, this evcli knows up to %d: upgrade evcli", path, ver, SchemaVersion)
			}
			return nil, fmt.Errorf("store: %s was written by an older evcli (schema %d, now %d) and is read-only here: run any evcli command where it is writable to upgrade it", path, ver, SchemaVersion)
		}
		d.r = r
		return d, nil
	}
	return nil, d.wrap("open read-only", lastErr)
}

// errReadOnly is what a write through OpenReadOnly's handle returns.
func (d *DB) errReadOnly() error {
	return fmt.Errorf("store: %s is open read-only (this user cannot write the project): run the command where the project is writable", d.path)
}

// corruptHint is the next step for a damaged database.
const corruptHint = "the state database is damaged: move .evcli/state.db (and any state.db-wal, state.db-shm) aside and run evcli deploy again; the events, logs and checkpoints it held stay in the moved file"

// isCorrupt reports whether err is SQLite's "malformed" or "not a database".
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
	}
	return false
}
