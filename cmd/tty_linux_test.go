//go:build linux

package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// These tests run evcli (this test binary, re-executed as evcli: it links
// every package evcli links, so their package inits run too) with its
// standard streams on a pseudo-terminal, as in a user's terminal, and read
// what it writes there. bubbletea v1 asked the terminal for its background
// colour (OSC 11) and the cursor position (CSI 6n) in a package init, on
// every command: a terminal that never answered stalled each command 5 s.
// Here nothing ever answers a query.

const (
	ptyChildEnv = "EVCLI_TEST_PTY_ARGS" // the child's arguments, separated by \x1f
	ptyDeadline = 2 * time.Minute       // a guard against hanging, not a timing assertion
)

// TestPTYChild is the re-executed evcli; it does nothing in a normal run.
func TestPTYChild(t *testing.T) {
	args, ok := os.LookupEnv(ptyChildEnv)
	if !ok {
		t.Skip("helper process for the pseudo-terminal tests")
	}
	os.Args = append([]string{"evcli"}, strings.Split(args, "\x1f")...)
	os.Exit(Main())
}

// openPTY returns a new pseudo-terminal's master and slave, the slave sized
// 100×30.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), req, uintptr(arg)); e != 0 {
			ptm.Close()
			t.Skipf("pseudo-terminal ioctl %#x: %v", req, e)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	ws := [4]uint16{30, 100, 0, 0} // rows, columns, pixels
	ioctl(syscall.TIOCSWINSZ, unsafe.Pointer(&ws))
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptm.Close()
		t.Skipf("opening the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	return ptm, pts
}

// ptyRun is evcli running with its streams on a pseudo-terminal.
type ptyRun struct {
	cmd  *exec.Cmd
	ptm  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{} // closed when the terminal has nothing more to read
}

// startPTY starts evcli with args in dir, with stdout and stderr on a
// pseudo-terminal, and stdin too unless stdinTTY is false (then /dev/null).
// env is added to the environment (TERM=xterm-256color, no NO_COLOR).
func startPTY(t *testing.T, dir string, stdinTTY bool, env []string, args ...string) *ptyRun {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ptm, pts := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), ptyDeadline)
	t.Cleanup(cancel)
	c := exec.CommandContext(ctx, exe, "-test.run=^TestPTYChild$")
	c.Dir = dir
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "NO_COLOR" && k != "TERM" && k != "COLORTERM" && k != "CLICOLOR_FORCE" && !strings.HasPrefix(k, "EVCLI_") {
			c.Env = append(c.Env, kv)
		}
	}
	c.Env = append(c.Env, "TERM=xterm-256color", ptyChildEnv+"="+strings.Join(args, "\x1f"))
	c.Env = append(c.Env, env...)
	c.Stdout, c.Stderr = pts, pts
	c.Stdin = pts
	if !stdinTTY {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		c.Stdin = null
	}
	// A session of its own with the terminal as controlling terminal, as a
	// shell would start it.
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: stdinTTY, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	r := &ptyRun{cmd: c, ptm: ptm, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := ptm.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return // EIO once evcli has exited and closed the terminal
			}
		}
	}()
	return r
}

func (r *ptyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// wait waits for evcli to exit and returns its exit code and everything it
// wrote to the terminal.
func (r *ptyRun) wait(t *testing.T) (int, string) {
	t.Helper()
	err := r.cmd.Wait()
	<-r.done
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, r.output()
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), r.output()
	}
	t.Fatalf("evcli did not finish within %v (stalled on a terminal that never answers?): %v\n%q", ptyDeadline, err, r.output())
	return -1, ""
}

// waitFor waits until the terminal shows s.
func (r *ptyRun) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(ptyDeadline)
	for !strings.Contains(r.output(), s) {
		select {
		case <-r.done:
			t.Fatalf("evcli ended before showing %q:\n%q", s, r.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("evcli did not show %q within %v:\n%q", s, ptyDeadline, r.output())
		}
	}
}

// ptyProject writes a minimal local project and returns its directory.
func ptyProject(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte("project: ttytest\nprovider: local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNoTerminalQueryOutsideTheTUI: commands that draw no UI write no escape
// sequence to a terminal but their own colours (SGR), and none at all under
// NO_COLOR: no query, nothing to wait for.
func TestNoTerminalQueryOutsideTheTUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := ptyProject(t)
	for _, tt := range []struct {
		name     string
		stdinTTY bool
		env      []string
		args     []string
		want     string
	}{
		{"version", true, nil, []string{"version"}, "evcli " + Version},
		{"help", true, nil, []string{"--help"}, "Usage:"},
		{"tail help", true, nil, []string{"tail", "--help"}, "correlation"},
		{"validate", true, nil, []string{"validate"}, "ok"},
		{"validate NO_COLOR", true, []string{"NO_COLOR=1"}, []string{"validate"}, "ok"},
		// tail prints lines (no TUI) with stdin not a terminal, or --no-tui.
		{"tail stdin not a terminal", false, nil, []string{"tail", "--follow=false"}, ""},
		{"tail stdin not a terminal NO_COLOR", false, []string{"NO_COLOR=1"}, []string{"tail", "--follow=false"}, ""},
		{"tail --no-tui NO_COLOR", true, []string{"NO_COLOR=1"}, []string{"tail", "--no-tui", "--follow=false"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := startPTY(t, dir, tt.stdinTTY, tt.env, tt.args...).wait(t)
			rest := out
			if len(tt.env) == 0 {
				rest = sgrSeq.ReplaceAllString(out, "") // colour is no query
			}
			if i := strings.IndexByte(rest, 0x1b); i >= 0 {
				t.Fatalf("evcli %s wrote an escape sequence to the terminal:\n%q", strings.Join(tt.args, " "), rest[i:])
			}
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

var sgrSeq = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// hasColour reports whether out sets a foreground or background colour.
func hasColour(out string) bool {
	for _, m := range sgrSeq.FindAllStringSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107 {
				return true
			}
			if n == 38 || n == 48 {
				break
			}
		}
	}
	return false
}

// TestTailTUIOnTerminal runs the TUI on a terminal that answers no query: it
// draws in the alternate screen, quits on q, and gives the screen back;
// under NO_COLOR it draws without colour.
func TestTailTUIOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := ptyProject(t)
	for _, tt := range []struct {
		name       string
		env        []string
		wantColour bool
	}{
		{"colour", nil, true},
		{"NO_COLOR", []string{"NO_COLOR=1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := startPTY(t, dir, true, tt.env, "tail")
			r.waitFor(t, "next error") // the help bar: the screen is drawn
			if _, err := r.ptm.Write([]byte("q")); err != nil {
				t.Fatal(err)
			}
			code, out := r.wait(t)
			if code != 0 {
				t.Fatalf("exit %d:\n%q", code, out)
			}
			enter, leave := strings.Index(out, "\x1b[?1049h"), strings.LastIndex(out, "\x1b[?1049l")
			if enter < 0 || leave < enter || !strings.Contains(out[enter:leave], "evcli tail") {
				t.Fatalf("the TUI did not draw in the alternate screen and give it back:\n%q", out)
			}
			if got := hasColour(out); got != tt.wantColour {
				t.Fatalf("colour on screen = %v, want %v:\n%q", got, tt.wantColour, out)
			}
		})
	}
}
