// Package testenv finds the shared reference data and builds the nfr-*
// binaries for tests that run them.
package testenv

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns the shared reference data directory: $NFR_TESTDATA, else
// ../shared/testdata next to the repository root. A missing directory fails
// the test: reference comparisons are never skipped silently.
func Shared(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NFR_TESTDATA")
	if dir == "" {
		dir = filepath.Join(Root(t), "..", "shared", "testdata")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Fatalf("testenv: shared test data not found at %s (set NFR_TESTDATA): %v", dir, err)
	}
	return dir
}

// SharedPath joins elem onto Shared.
func SharedPath(t testing.TB, elem ...string) string {
	return filepath.Join(append([]string{Shared(t)}, elem...)...)
}

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Bin builds ./cmd/name once per test process and returns the binary's path.
func Bin(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "nfr-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = Root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// BinDir builds every named binary and returns the directory holding them,
// for tests that run pipelines through scripts/nfr with PATH set to it.
func BinDir(t testing.TB, names ...string) string {
	t.Helper()
	var dir string
	for _, n := range names {
		dir = filepath.Dir(Bin(t, n))
	}
	return dir
}

// Run runs the program bin with args, stdin (nil: empty) and env added to
// the environment, and returns its output and exit status. Only a program
// that could not be run fails the test.
func Run(t testing.TB, bin string, stdin []byte, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// Result is what a program printed and its exit status.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// RunBin runs the built program name (see Bin) with args and stdin, in the
// test's environment.
func RunBin(t testing.TB, name string, stdin []byte, args ...string) Result {
	t.Helper()
	var r Result
	r.Stdout, r.Stderr, r.Code = Run(t, Bin(t, name), stdin, nil, args...)
	return r
}

// SyncBuffer is a bytes.Buffer a test may read while a process writes it
// (a command's stderr, say).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
