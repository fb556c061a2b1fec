package config

// Scope names the monitoring scope file.
type Scope struct {
	File string `yaml:"file"` // scope.yml; empty means the built-in default scope
}

func (s *Scope) setDefaults()     {}
func (s *Scope) validate() error  { return nil }
func (s *Scope) paths() []*string { return []*string{&s.File} }
