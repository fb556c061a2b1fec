package config

import "fmt"

// Scope names the monitoring scope file nfr-scope uses.
type Scope struct {
	File string `yaml:"file"` // scope.yml; empty means the built-in scope
}

func (s *Scope) setDefaults() {}

func (s *Scope) validate() error {
	switch s.File {
	case "-", "stdin", "stdout", "stderr":
		return fmt.Errorf("scope.file: %q is not a file name; give the path of a scope.yml, or \"\" for the built-in scope", s.File)
	}
	return nil
}

func (s *Scope) paths() []*string { return []*string{&s.File} }
