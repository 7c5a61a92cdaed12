package cmdutil

import (
	"errors"
	"fmt"
)

// Exit codes, documented in `evcli help exit-codes`.
const (
	ExitOK          = 0
	ExitFailure     = 1 // the command ran and something failed (filter test: an event did not match)
	ExitUsage       = 2 // bad flags, arguments, project file, pattern or event
	ExitCredentials = 4 // no credentials or region for a cloud provider
	ExitInterrupted = 130
)

// ExitError carries an exit code. Msg, when set, is printed to stderr; an
// ExitError with an empty Msg exits silently (the command already said why).
type ExitError struct {
	Code int
	Msg  string
	Err  error
}

func (e *ExitError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError returns an error that exits 2 with msg.
func UsageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Msg: fmt.Sprintf(format, args...)}
}

// Silent returns an error that exits with code and prints nothing more.
func Silent(code int) error { return &ExitError{Code: code} }

// ErrNotImplemented is returned by commands that a later issue fills in.
var ErrNotImplemented = errors.New("not implemented yet")

// ExitCode returns the exit code for err.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
