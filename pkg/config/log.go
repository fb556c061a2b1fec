package config

import "fmt"

// Log says where the nfr wrapper sends the programs' diagnostics (warnings,
// statistics, errors), kept apart from the alerts so that
// `nfr listen 2>&1 >/dev/null | jq .` sees alerts only.
type Log struct {
	File string `yaml:"file"` // stdout (default, as the original NFR), stderr, or a file name (appended to)
}

func (l *Log) setDefaults() { l.File = "stdout" }

func (l *Log) validate() error {
	if l.File == "" {
		return fmt.Errorf("log.file: empty; give stdout, stderr or a file name")
	}
	return nil
}

func (l *Log) paths() []*string { return []*string{&l.File} }
