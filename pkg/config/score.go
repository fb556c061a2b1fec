package config

// Score configures nfr-score, the built-in analytics engine.
type Score struct{}

func (s *Score) setDefaults()     {}
func (s *Score) validate() error  { return nil }
func (s *Score) paths() []*string { return nil }
