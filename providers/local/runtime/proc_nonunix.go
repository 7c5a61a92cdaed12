//go:build !unix

package runtime

import (
	"errors"
	"io"
	"os"
	"os/exec"
)

var unsupported = errors.New("the local runtime needs Linux or macOS (on Windows, run evcli in WSL)")

func setProcessGroup(*exec.Cmd) {}

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func readFD(int, []byte) (int, error) { return 0, io.EOF }

func freezeGroup(int) bool { return false }

func thawGroup(int) {}
