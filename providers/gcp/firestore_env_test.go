package gcp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/internal/testenv"
)

// TestMain stops the Firestore emulator the tests started and reports the
// tests skipped because it is not installed.
func TestMain(m *testing.M) {
	code := testenv.Main(m)
	stopFirestore()
	os.Exit(code)
}

// firestoreEnv is a running Firestore emulator; each harness uses its own
// collections in it.
type firestoreEnv struct {
	addr  string
	nonce string
}

func (f *firestoreEnv) collection(project string) string { return project + "-events-" + f.nonce }

var (
	fsOnce    sync.Once
	fsAddr    string
	fsAbsent  string
	fsCmd     *exec.Cmd
	fsCounter atomic.Int64

	firestoreAbsent string
)

// sharedFirestore returns the emulator (started on 127.0.0.1 on first use,
// or EVCLI_FIRESTORE_EMULATOR_HOST when set: one .ci/run started), or nil,
// recording why in firestoreAbsent and with testenv when it is absent.
func sharedFirestore(t *testing.T) *firestoreEnv {
	fsOnce.Do(func() { fsAddr, fsAbsent = startFirestore() })
	if fsAddr == "" {
		firestoreAbsent = fsAbsent
		if os.Getenv("EVCLI_TEST_REQUIRE") != "" {
			t.Fatalf("the Firestore emulator is missing (EVCLI_TEST_REQUIRE is set): %s", fsAbsent)
		}
		return nil
	}
	return &firestoreEnv{addr: fsAddr, nonce: strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + strconv.FormatInt(fsCounter.Add(1), 10)}
}

// requireFirestore is sharedFirestore that skips t when the emulator is
// absent.
func requireFirestore(t *testing.T) *firestoreEnv {
	f := sharedFirestore(t)
	if f == nil {
		testenv.Skip(t, "the Firestore emulator", fsAbsent)
	}
	return f
}

func firestoreEmulator() (string, error) {
	if p := os.Getenv("EVCLI_FIRESTORE_EMULATOR"); p != "" {
		return p, nil
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", fmt.Errorf("gcloud is not installed")
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

const firestoreFix = "install the Google Cloud CLI's Firestore emulator (package google-cloud-cli-firestore-emulator, or gcloud components install cloud-firestore-emulator) and Java 17, or set EVCLI_FIRESTORE_EMULATOR_HOST to a running one"

func startFirestore() (addr, absent string) {
	if a := os.Getenv("EVCLI_FIRESTORE_EMULATOR_HOST"); a != "" {
		return a, ""
	}
	bin, err := firestoreEmulator()
	if err != nil {
		return "", err.Error() + ": " + firestoreFix
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "", "java is not installed: " + firestoreFix
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err.Error()
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// Run the emulator's java directly (what its script does) rather than
	// the script, so that it dies with this process even when a test
	// panics before TestMain can stop it (Pdeathsig reaches the direct
	// child only).
	args := []string{"start", "--host=127.0.0.1", "--port=" + strconv.Itoa(port)}
	cmd := exec.Command(bin, args...)
	if jar := filepath.Join(filepath.Dir(bin), "cloud-firestore-emulator.jar"); os.Getenv("EVCLI_FIRESTORE_EMULATOR") == "" {
		if _, err := os.Stat(jar); err == nil {
			cmd = exec.Command("java", append([]string{"-Duser.language=en", "-cp", jar,
				"com.google.cloud.datastore.emulator.firestore.CloudFirestore"}, args...)...)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", "starting the Firestore emulator: " + err.Error()
	}
	fsCmd = cmd
	addr = "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr, ""
		}
		if time.Now().After(deadline) {
			stopFirestore()
			return "", "the Firestore emulator did not listen on " + addr + " within 90 s: " + firestoreFix
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func stopFirestore() {
	if fsCmd == nil || fsCmd.Process == nil {
		return
	}
	_ = syscall.Kill(-fsCmd.Process.Pid, syscall.SIGKILL)
	_ = fsCmd.Wait()
	fsCmd = nil
}
