package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FunctionRecord is one deployed function: its configuration and where its
// unpacked code lives.
type FunctionRecord struct {
	Name         string
	Runtime      string
	Handler      string
	Architecture string
	MemoryMB     int
	TimeoutS     int
	Concurrency  int
	Env          map[string]string
	CodeSha256   string
	ArtifactPath string
	CodeDir      string
	DeployedAt   time.Time
	// Correlation is the JSON path of the correlation id in the function's
	// log lines, from evcli.yaml ("" for the defaults).
	Correlation string
}

// Rule routes events that match Pattern on Bus to Function.
type Rule struct {
	ID       string
	Bus      string
	Function string
	Pattern  json.RawMessage
}

// PutFunction creates or replaces the function named rec.Name.
func (d *DB) PutFunction(ctx context.Context, rec FunctionRecord) error {
	if rec.Name == "" {
		return errors.New("store: PutFunction: empty function name")
	}
	env := rec.Env
	if env == nil {
		env = map[string]string{}
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("store: function %s: env: %w", rec.Name, err)
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO functions
			(name, runtime, handler, architecture, memory_mb, timeout_s, concurrency, env, code_sha256, artifact_path, code_dir, deployed_at, correlation)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(name) DO UPDATE SET runtime=excluded.runtime, handler=excluded.handler,
			architecture=excluded.architecture, memory_mb=excluded.memory_mb, timeout_s=excluded.timeout_s,
			concurrency=excluded.concurrency, env=excluded.env, code_sha256=excluded.code_sha256,
			artifact_path=excluded.artifact_path, code_dir=excluded.code_dir, deployed_at=excluded.deployed_at,
			correlation=excluded.correlation`,
			rec.Name, rec.Runtime, rec.Handler, rec.Architecture, rec.MemoryMB, rec.TimeoutS, rec.Concurrency,
			string(envJSON), rec.CodeSha256, rec.ArtifactPath, rec.CodeDir, toMicros(rec.DeployedAt), rec.Correlation)
		return d.wrap("put function "+rec.Name, err)
	})
}

const functionCols = `name, runtime, handler, architecture, memory_mb, timeout_s, concurrency, env, code_sha256, artifact_path, code_dir, deployed_at, correlation`

func scanFunction(r rowScanner) (FunctionRecord, error) {
	var (
		f   FunctionRecord
		env string
		at  int64
	)
	err := r.Scan(&f.Name, &f.Runtime, &f.Handler, &f.Architecture, &f.MemoryMB, &f.TimeoutS, &f.Concurrency,
		&env, &f.CodeSha256, &f.ArtifactPath, &f.CodeDir, &at, &f.Correlation)
	if err != nil {
		return f, err
	}
	f.DeployedAt = fromMicros(at)
	if err := json.Unmarshal([]byte(env), &f.Env); err != nil {
		return f, fmt.Errorf("function %s: stored env: %w", f.Name, err)
	}
	return f, nil
}

// Functions lists the deployed functions by name.
func (d *DB) Functions(ctx context.Context) ([]FunctionRecord, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT `+functionCols+` FROM functions ORDER BY name`)
	if err != nil {
		return nil, d.wrap("list functions", err)
	}
	defer rows.Close()
	var out []FunctionRecord
	for rows.Next() {
		f, err := scanFunction(rows)
		if err != nil {
			return nil, d.wrap("list functions", err)
		}
		out = append(out, f)
	}
	return out, d.wrap("list functions", rows.Err())
}

// Function returns the function called name; ok is false when there is none.
func (d *DB) Function(ctx context.Context, name string) (FunctionRecord, bool, error) {
	f, err := scanFunction(d.r.QueryRowContext(ctx, `SELECT `+functionCols+` FROM functions WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return FunctionRecord{}, false, nil
	}
	if err != nil {
		return FunctionRecord{}, false, d.wrap("read function "+name, err)
	}
	return f, true, nil
}

// DeleteFunction removes the function and its rules. Deleting a function that
// does not exist is not an error.
func (d *DB) DeleteFunction(ctx context.Context, name string) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE function = ?`, name); err != nil {
			return d.wrap("delete rules of "+name, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM functions WHERE name = ?`, name)
		return d.wrap("delete function "+name, err)
	})
}

// SetRules replaces all rules targeting function with rules, atomically.
// A rule whose Function is empty targets function; one naming another
// function is an error. Bus defaults to "default"; each Pattern must be valid
// JSON (its meaning is the matcher's business).
func (d *DB) SetRules(ctx context.Context, function string, rules []Rule) error {
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		if r.ID == "" {
			return fmt.Errorf("store: rules of %s: rules[%d]: empty id", function, i)
		}
		if seen[r.ID] {
			return fmt.Errorf("store: rules of %s: rules[%d]: duplicate id %q", function, i, r.ID)
		}
		seen[r.ID] = true
		if r.Function == "" {
			r.Function = function
		}
		if r.Function != function {
			return fmt.Errorf("store: rules of %s: rule %q targets %q; SetRules replaces one function's rules at a time", function, r.ID, r.Function)
		}
		if r.Bus == "" {
			r.Bus = DefaultBus
		}
		if !json.Valid(r.Pattern) {
			return fmt.Errorf("store: rules of %s: rule %q: pattern is not valid JSON", function, r.ID)
		}
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE function = ?`, function); err != nil {
			return d.wrap("replace rules of "+function, err)
		}
		for i, r := range rules {
			_, err := tx.ExecContext(ctx, `INSERT INTO rules (id, bus, function, pattern, ord) VALUES (?,?,?,?,?)`,
				r.ID, r.Bus, r.Function, string(r.Pattern), i)
			if err != nil {
				return d.wrap(fmt.Sprintf("insert rule %q of %s (rule ids must be unique across functions)", r.ID, function), err)
			}
		}
		return nil
	})
}

// Rules lists every rule, by function and then in the order SetRules got them.
func (d *DB) Rules(ctx context.Context) ([]Rule, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT id, bus, function, pattern FROM rules ORDER BY function, ord`)
	if err != nil {
		return nil, d.wrap("list rules", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		var (
			r Rule
			p string
		)
		if err := rows.Scan(&r.ID, &r.Bus, &r.Function, &p); err != nil {
			return nil, d.wrap("list rules", err)
		}
		r.Pattern = json.RawMessage(p)
		out = append(out, r)
	}
	return out, d.wrap("list rules", rows.Err())
}
