//go:build unix

package runtime

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the process in its own group so that killGroup ends
// it and everything it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func readFD(fd int, b []byte) (int, error) { return syscall.Read(fd, b) }

// unsupported is nil where the runtime works.
var unsupported error

// freezeGroup stops every process of the group (SIGSTOP), as Lambda freezes
// an execution environment between invocations; thawGroup resumes them.
// SIGKILL still ends a stopped group.
func freezeGroup(pid int) bool { return pid > 0 && syscall.Kill(-pid, syscall.SIGSTOP) == nil }

func thawGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGCONT) }
