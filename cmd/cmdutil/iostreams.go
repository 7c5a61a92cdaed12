// Package cmdutil holds what every evcli command shares: the IO streams with
// their terminal detection, the Factory that commands get their dependencies
// from, flag and exit errors, and the JSON-lines writer for -o json.
package cmdutil

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams are the standard streams with what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorMode                      string // auto|always|never
	noColorEnv                     bool
}

// System returns the process's streams.
func System() *IOStreams {
	isTTY := func(f *os.File) bool {
		return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr),
		colorMode: "auto", noColorEnv: noColor && os.Getenv("NO_COLOR") != "",
	}
}

// Test returns streams backed by buffers: in, out, errOut. No stream is a
// terminal until SetStdoutTTY etc. say so.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, colorMode: "auto"}, in, out, errOut
}

func (s *IOStreams) SetStdinTTY(v bool)   { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool)  { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool)  { s.stderrTTY = v }
func (s *IOStreams) SetNoColorEnv(v bool) { s.noColorEnv = v }

// SetColorMode sets auto, always or never (the --color flag).
func (s *IOStreams) SetColorMode(m string) { s.colorMode = m }

func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the user can be asked a question.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// ColorEnabled reports whether stdout gets colour: --color always, or auto on
// a terminal without NO_COLOR.
func (s *IOStreams) ColorEnabled() bool {
	switch s.colorMode {
	case "always":
		return true
	case "never":
		return false
	}
	return s.stdoutTTY && !s.noColorEnv
}

// ErrColorEnabled is ColorEnabled for stderr.
func (s *IOStreams) ErrColorEnabled() bool {
	switch s.colorMode {
	case "always":
		return true
	case "never":
		return false
	}
	return s.stderrTTY && !s.noColorEnv
}
