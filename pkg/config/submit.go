package config

// Submit configures nfr-submit (batching, spool, alert polling).
type Submit struct {
	Spool string `yaml:"spool"` // spool directory
}

func (s *Submit) setDefaults()     { s.Spool = "/var/lib/nfr/spool" }
func (s *Submit) validate() error  { return nil }
func (s *Submit) paths() []*string { return []*string{&s.Spool} }
