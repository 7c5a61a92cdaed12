package fakecloud

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrAbsent is wrapped by the error of a Start whose emulator or
// interpreter is not installed.
var ErrAbsent = errors.New("not installed")

// AbsentError says which emulator or interpreter a Start needs and how
// to install it.
type AbsentError struct{ What, Fix string }

func (e *AbsentError) Error() string { return e.What + " is not available: " + e.Fix }
func (e *AbsentError) Unwrap() error { return ErrAbsent }

const firestoreFix = "install the Google Cloud CLI's Firestore emulator (package google-cloud-cli-firestore-emulator, or gcloud components install cloud-firestore-emulator) and Java 17, or set EVCLI_FIRESTORE_EMULATOR_HOST to a running one"

// firestoreEmulator is a running Firestore emulator; stop ends the one
// this process started (nothing for EVCLI_FIRESTORE_EMULATOR_HOST's).
type firestoreEmulator struct {
	addr string
	cmd  *exec.Cmd
}

func (f *firestoreEmulator) stop() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	_ = f.cmd.Wait()
	f.cmd = nil
}

func firestoreBinary() (string, error) {
	if p := os.Getenv("EVCLI_FIRESTORE_EMULATOR"); p != "" {
		return p, nil
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", errors.New("gcloud is not installed")
	}
	if real, err := filepath.EvalSymlinks(gcloud); err == nil {
		gcloud = real
	}
	p := filepath.Join(filepath.Dir(gcloud), "..", "platform", "cloud-firestore-emulator", "cloud_firestore_emulator")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("gcloud has no Firestore emulator at %s", p)
	}
	return p, nil
}

// startFirestore starts the emulator on a free 127.0.0.1 port and waits
// until it listens (within wait), or returns EVCLI_FIRESTORE_EMULATOR_HOST.
func startFirestore(wait time.Duration) (*firestoreEmulator, error) {
	if a := os.Getenv("EVCLI_FIRESTORE_EMULATOR_HOST"); a != "" {
		return &firestoreEmulator{addr: a}, nil
	}
	bin, err := firestoreBinary()
	if err != nil {
		return nil, &AbsentError{"the Firestore emulator", err.Error() + ": " + firestoreFix}
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, &AbsentError{"the Firestore emulator", "java is not installed: " + firestoreFix}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"start", "--host=127.0.0.1", "--port=" + strconv.Itoa(port)}
	cmd := exec.Command(bin, args...)
	// Run the emulator's java directly (what its script does), so that it
	// dies with this process (Pdeathsig reaches the direct child only).
	if jar := filepath.Join(filepath.Dir(bin), "cloud-firestore-emulator.jar"); os.Getenv("EVCLI_FIRESTORE_EMULATOR") == "" {
		if _, err := os.Stat(jar); err == nil {
			cmd = exec.Command("java", append([]string{"-Duser.language=en", "-cp", jar,
				"com.google.cloud.datastore.emulator.firestore.CloudFirestore"}, args...)...)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Firestore emulator: %w", err)
	}
	f := &firestoreEmulator{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	if err := waitListening(f.addr, wait); err != nil {
		f.stop()
		return nil, fmt.Errorf("the Firestore emulator: %w", err)
	}
	return f, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts connections, within wait.
func waitListening(addr string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %v", addr, wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
