package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Execution is one workflow execution as stored.
type Execution struct {
	ID, Name, Workflow string
	Status             string
	Definition         []byte
	Input, Output      []byte
	Error, Cause       string
	// ResumeState is the top-level state that was about to run (or
	// running) at the last checkpoint, and ResumeInput its raw input.
	ResumeState   string
	ResumeInput   []byte
	CorrelationID string
	RedriveCount  int
	Started       time.Time
	Stopped       time.Time
}

// ExecutionEvent is one stored history event.
type ExecutionEvent struct {
	Seq     int
	Time    time.Time
	Payload []byte
}

const executionCols = `id, name, workflow, status, definition, input, output, error, cause, resume_state, resume_input, correlation_id, redrive_count, started, stopped`

// CreateExecution stores a new RUNNING execution.
func (d *DB) CreateExecution(ctx context.Context, e Execution) error {
	if e.Started.IsZero() {
		e.Started = d.now()
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := d.wr.exec(ctx, tx, `INSERT INTO executions (`+executionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			e.ID, e.Name, e.Workflow, "RUNNING", e.Definition, e.Input, e.Output, "", "", e.ResumeState, e.ResumeInput,
			e.CorrelationID, 0, toMicros(e.Started), 0)
		return d.wrap("create execution "+e.ID, err)
	})
}

// CheckpointExecution records that state is about to run with input: a
// resumed execution starts there. It is durable when it returns.
func (d *DB) CheckpointExecution(ctx context.Context, id, state string, input []byte) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := d.wr.exec(ctx, tx, `UPDATE executions SET resume_state = ?, resume_input = ? WHERE id = ?`, state, input, id)
		return d.wrap("checkpoint execution "+id, err)
	})
}

// AppendExecutionEvent adds one event to an execution's history and
// returns its sequence number (1, 2, ...).
func (d *DB) AppendExecutionEvent(ctx context.Context, id string, t time.Time, payload []byte) (int, error) {
	if t.IsZero() {
		t = d.now()
	}
	var seq int
	err := d.writeLight(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM execution_events WHERE execution_id = ?`, id).Scan(&seq); err != nil {
			return d.wrap("append execution event", err)
		}
		_, err := d.wr.exec(ctx, tx, `INSERT INTO execution_events (execution_id, seq, time, payload) VALUES (?,?,?,?)`, id, seq, toMicros(t), payload)
		return d.wrap("append execution event", err)
	})
	return seq, err
}

// FinishExecution records an execution's end.
func (d *DB) FinishExecution(ctx context.Context, id, status string, output []byte, errName, cause string, stopped time.Time) error {
	if stopped.IsZero() {
		stopped = d.now()
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := d.wr.exec(ctx, tx, `UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stopped = ? WHERE id = ?`,
			status, output, errName, cause, toMicros(stopped), id)
		return d.wrap("finish execution "+id, err)
	})
}

// RedriveExecution marks a stopped execution RUNNING again from its last
// checkpoint, counting the redrive. ok is false when it was not in one of
// the statuses given.
func (d *DB) RedriveExecution(ctx context.Context, id string, from ...string) (bool, error) {
	var ok bool
	err := d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM executions WHERE id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return d.wrap("redrive execution "+id, err)
		}
		for _, f := range from {
			ok = ok || f == status
		}
		if !ok {
			return nil
		}
		_, err = d.wr.exec(ctx, tx, `UPDATE executions SET status = 'RUNNING', output = NULL, error = '', cause = '', stopped = 0,
			redrive_count = redrive_count + 1 WHERE id = ?`, id)
		return d.wrap("redrive execution "+id, err)
	})
	return ok, err
}

func scanExecution(row interface{ Scan(...any) error }) (Execution, error) {
	var e Execution
	var started, stopped int64
	err := row.Scan(&e.ID, &e.Name, &e.Workflow, &e.Status, &e.Definition, &e.Input, &e.Output, &e.Error, &e.Cause,
		&e.ResumeState, &e.ResumeInput, &e.CorrelationID, &e.RedriveCount, &started, &stopped)
	e.Started, e.Stopped = fromMicros(started), fromMicros(stopped)
	return e, err
}

// GetExecution reads one execution; ok is false when there is none.
func (d *DB) GetExecution(ctx context.Context, id string) (Execution, bool, error) {
	e, err := scanExecution(d.r.QueryRowContext(ctx, `SELECT `+executionCols+` FROM executions WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, id, id, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Execution{}, false, nil
	}
	if err != nil {
		return Execution{}, false, d.wrap("read execution "+id, err)
	}
	return e, true, nil
}

// ListExecutions lists the executions of workflow ("" = all), newest
// first, at most limit (0 = all).
func (d *DB) ListExecutions(ctx context.Context, workflow string, limit int) ([]Execution, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+executionCols+` FROM executions WHERE ? = '' OR workflow = ? ORDER BY started DESC, id LIMIT ?`, workflow, workflow, limit)
	if err != nil {
		return nil, d.wrap("list executions", err)
	}
	defer rows.Close()
	var out []Execution
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, d.wrap("list executions", err)
		}
		out = append(out, e)
	}
	return out, d.wrap("list executions", rows.Err())
}

// ExecutionEvents reads an execution's history from seq after+1 on.
func (d *DB) ExecutionEvents(ctx context.Context, id string, after int) ([]ExecutionEvent, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT seq, time, payload FROM execution_events WHERE execution_id = ? AND seq > ? ORDER BY seq`, id, after)
	if err != nil {
		return nil, d.wrap("read execution history", err)
	}
	defer rows.Close()
	var out []ExecutionEvent
	for rows.Next() {
		var e ExecutionEvent
		var t int64
		if err := rows.Scan(&e.Seq, &t, &e.Payload); err != nil {
			return nil, d.wrap("read execution history", err)
		}
		e.Time = fromMicros(t)
		out = append(out, e)
	}
	return out, d.wrap("read execution history", rows.Err())
}
