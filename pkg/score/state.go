package score

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"time"
)

// stateVersion changes whenever the saved layout does.
const stateVersion = 4

type savedState struct {
	Version   int
	Now       time.Time
	Sources   []entry[netip.Addr, srcState]
	Domains   []entry[string, domState]
	Pairs     []entry[pairKey, pairState]
	Resolved  []entry[netip.Addr, resolvedInfo]
	Incidents []entry[uint64, incident]
	Beacons   []entry[nameKey, beaconState]
	Callers   []entry[[16]byte, uint64]
	CallerSet []entry[uint64, struct{}]
	Answers   []entry[[16]byte, answer]
	Uploads   []entry[uploadKey, uploadState]
	Prints    []entry[uint64, fingerprint]
	Seen      []entry[uint64, struct{}]
	Words     wordsState
	Since     time.Time
}

// SaveState writes the behavioural windows so a later run (a cron job over
// the next hour's logs) carries on where this one stopped.
func (e *Engine) SaveState(w io.Writer) error {
	s := savedState{
		Version:   stateVersion,
		Now:       e.now,
		Sources:   e.sources.entries(),
		Domains:   e.domains.entries(),
		Pairs:     e.pairs.entries(),
		Resolved:  e.resolved.entries(),
		Incidents: e.incidents.entries(),
		Beacons:   e.beacons.entries(),
		Callers:   e.callers.entries(),
		CallerSet: e.callerSet.entries(),
		Answers:   e.answers.entries(),
		Uploads:   e.uploads.entries(),
		Prints:    e.prints.entries(),
		Seen:      e.seen.entries(),
		Words:     e.words.save(),
		Since:     e.since,
	}
	return gob.NewEncoder(w).Encode(&s)
}

// LoadState reads what SaveState wrote, replacing the current windows.
func (e *Engine) LoadState(r io.Reader) error {
	var s savedState
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("reading state: %v", err)
	}
	if s.Version != stateVersion {
		return &StateVersionError{Have: s.Version, Want: stateVersion}
	}
	e.sources = newTable[netip.Addr, srcState](e.cfg.MaxSources)
	e.domains = newTable[string, domState](e.cfg.MaxDomains)
	e.pairs = newTable[pairKey, pairState](e.cfg.MaxPairs)
	e.resolved = newTable[netip.Addr, resolvedInfo](e.cfg.MaxDomains)
	e.sources.load(s.Sources)
	e.domains.load(s.Domains)
	e.pairs.load(s.Pairs)
	e.resolved.load(s.Resolved)
	e.incidents = newTable[uint64, incident](e.cfg.MaxPairs)
	e.incidents.load(s.Incidents)
	e.beacons = newTable[nameKey, beaconState](e.cfg.MaxPairs)
	e.beacons.load(s.Beacons)
	e.callers = newTable[[16]byte, uint64](e.cfg.MaxDomains)
	e.callers.load(s.Callers)
	e.callerSet = newTable[uint64, struct{}](e.cfg.MaxSources)
	e.callerSet.load(s.CallerSet)
	e.answers = newTable[[16]byte, answer](e.cfg.MaxDomains)
	e.answers.load(s.Answers)
	e.uploads = newTable[uploadKey, uploadState](e.cfg.MaxPairs)
	e.uploads.load(s.Uploads)
	e.prints = newTable[uint64, fingerprint](e.cfg.MaxDomains)
	e.prints.load(s.Prints)
	e.seen = newTable[uint64, struct{}](e.cfg.MaxDomains)
	e.seen.load(s.Seen)
	e.words = loadWordsTable(s.Words, e.cfg)
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
