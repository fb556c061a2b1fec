package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// HeadLen is how many leading (decompressed) bytes identify a file. A file
// is recognised again, after a rename, a copy or compression, when its first
// bytes hash the same; an inode re-used for other content is not.
const HeadLen = 1024

// Entry is where reading of one file stopped.
type Entry struct {
	Name    string `json:"name"`    // path as last read (informational)
	Dev     uint64 `json:"dev"`     // device and inode, to prefer the same file
	Ino     uint64 `json:"ino"`     // among files with the same head
	Offset  int64  `json:"offset"`  // decompressed bytes consumed: every line before it is written downstream
	Line    int64  `json:"line"`    // lines consumed, for messages
	HeadLen int    `json:"headLen"` // bytes the hash covers
	Head    string `json:"head"`    // hex SHA-256 of the first HeadLen bytes
	// Context is what the parser must see again before resuming: the
	// header block of a Zeek TSV log, or eve lines waiting for their pair.
	Context []byte `json:"context,omitempty"`
	// Seen is when the file was last read (Unix seconds). Entries of files
	// a run does not name are kept for KeepUnseen, so a rotated sibling
	// named again later is not read twice.
	Seen int64 `json:"seen"`
}

// KeepUnseen is how long the entry of a file no run has named is kept.
const KeepUnseen = 14 * 24 * time.Hour

// MaxEntries caps the entries of a state file; the least recently seen go.
const MaxEntries = 4096

// State is the content of a --state file.
type State struct {
	Version int      `json:"version"`
	Files   []*Entry `json:"files"`
}

// LoadState reads a state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &State{Version: 1}, nil
	}
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: not a state file: %v; %s", path, err, recoverHint(path))
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("%s: unknown state version %d; %s", path, s.Version, recoverHint(path))
	}
	return s, nil
}

// recoverHint says how to get past a damaged state file, and what it costs.
func recoverHint(path string) string {
	return fmt.Sprintf("to start afresh, remove it (rm %s): the files named are then read from their start, so records read before are written again", path)
}

// Save writes s to path atomically: a temporary file in the same directory,
// fsync, rename, fsync of the directory. A crash leaves the old state or the
// new one, never a mix.
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Lock takes an exclusive lock on path+".lock" so two runs (an overlapping
// cron job) cannot both read and save the same state. The returned file
// releases the lock when closed.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another run", path)
	}
	return f, nil
}

func hashHead(head []byte) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:])
}

// match finds the entry for a file whose first bytes are head, preferring
// the same device and inode, then the longest head; used entries are skipped.
func (s *State) match(head []byte, dev, ino uint64, used map[*Entry]bool) *Entry {
	var best *Entry
	for _, e := range s.Files {
		if used[e] || e.HeadLen == 0 || e.HeadLen > len(head) {
			continue
		}
		if hashHead(head[:e.HeadLen]) != e.Head {
			continue
		}
		switch {
		case best == nil:
			best = e
		case e.Dev == dev && e.Ino == ino && !(best.Dev == dev && best.Ino == ino):
			best = e
		case e.HeadLen > best.HeadLen && !(best.Dev == dev && best.Ino == ino):
			best = e
		}
	}
	return best
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
