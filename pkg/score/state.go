package score

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// stateVersion changes whenever the saved layout does. 5: each
// detector's tables saved under its name (registry.go), pairs with one part
// per detector. 6: ICMP tunnel, spam and strobe windows slide (buckets
// where version 5 had a start and counts); the pairs seen once and the DNS
// tunnel's first names saved.
const stateVersion = 6

type savedState struct {
	Version   int
	Now       time.Time
	Since     time.Time
	Incidents []entry[uint64, incident]
	// Field names differ from version 4's where the types do (its Pairs
	// and Answers were entry lists), so gob reads an old file's Version
	// and LoadState can say so instead of failing on a field.
	PairTable   []byte // the pairs' table (pairs.go)
	AnswerTable []byte // addresses of DNS answers
	// Detectors holds each detector's tables by its name, gob-encoded in
	// the order its tables method gives them.
	Detectors map[string][]byte
}

// SaveState writes the behavioural windows so a later run (a cron job over
// the next hour's logs) carries on where this one stopped.
func (e *Engine) SaveState(w io.Writer) error {
	s := savedState{
		Version:   stateVersion,
		Now:       e.now,
		Since:     e.since,
		Incidents: e.incidents.entries(),
		Detectors: map[string][]byte{},
	}
	var err error
	if s.PairTable, err = encodeTables(e.pairs.t, &e.pairs.sighted); err != nil {
		return err
	}
	if s.AnswerTable, err = encodeTables(e.answers.t); err != nil {
		return err
	}
	for _, d := range e.all {
		if k, ok := d.(keeper); ok {
			if s.Detectors[d.name()], err = encodeTables(k.tables()...); err != nil {
				return fmt.Errorf("saving the state of %s: %v", d.name(), err)
			}
		}
	}
	return gob.NewEncoder(w).Encode(&s)
}

func encodeTables(ts ...stateTable) ([]byte, error) {
	var b bytes.Buffer
	enc := gob.NewEncoder(&b)
	for _, t := range ts {
		if err := t.save(enc); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func decodeTables(b []byte, ts ...stateTable) error {
	dec := gob.NewDecoder(bytes.NewReader(b))
	for _, t := range ts {
		if err := t.restore(dec); err != nil {
			return err
		}
	}
	return nil
}

// LoadState reads what SaveState wrote, replacing the current windows. A
// detector the file has no state for (new in this version) starts empty.
func (e *Engine) LoadState(r io.Reader) error {
	var s savedState
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("reading state: %v", err)
	}
	if s.Version != stateVersion {
		return &StateVersionError{Have: s.Version, Want: stateVersion}
	}
	if err := decodeTables(s.PairTable, e.pairs.t, &e.pairs.sighted); err != nil {
		return fmt.Errorf("reading state: pairs: %v", err)
	}
	if err := decodeTables(s.AnswerTable, e.answers.t); err != nil {
		return fmt.Errorf("reading state: answers: %v", err)
	}
	for _, d := range e.all {
		k, ok := d.(keeper)
		if !ok {
			continue
		}
		if b, ok := s.Detectors[d.name()]; ok {
			if err := decodeTables(b, k.tables()...); err != nil {
				return fmt.Errorf("reading state: %s: %v", d.name(), err)
			}
		}
	}
	e.incidents = newTable[uint64, incident](e.cfg.MaxPairs)
	e.incidents.load(s.Incidents)
	if !s.Since.IsZero() && (e.since.IsZero() || s.Since.Before(e.since)) {
		e.since = s.Since
	}
	if s.Now.After(e.now) {
		e.now = s.Now
	}
	return nil
}

// StateVersionError says a state file was written by another version of
// nfr-score: its windows cannot be read, and the caller may start afresh.
type StateVersionError struct{ Have, Want int }

func (e *StateVersionError) Error() string {
	return fmt.Sprintf("state version %d, want %d", e.Have, e.Want)
}

// LoadStateFile loads the state SaveStateFile wrote to path; a missing
// file is a first run, not an error.
func (e *Engine) LoadStateFile(path string) error {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := e.LoadState(bufio.NewReader(fh)); err != nil {
		return fmt.Errorf("%s: %w; to start with empty behavioural windows, remove it (rm %s)", path, err, path)
	}
	return nil
}

// SaveStateFile writes the state to a file next to path and renames it into
// place, so a crash never leaves half a state file.
func (e *Engine) SaveStateFile(path string) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("saving state: %v", err)
	}
	bw := bufio.NewWriter(fh)
	err = e.SaveState(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving state to %s: %v", path, err)
	}
	return nil
}
