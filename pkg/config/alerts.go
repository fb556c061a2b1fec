package config

import "fmt"

// Alerts says where the nfr wrapper writes alerts.
type Alerts struct {
	File   string `yaml:"file"`   // stderr (default), stdout, or a file name
	Format string `yaml:"format"` // json (the only format)
}

func (a *Alerts) setDefaults() { a.File, a.Format = "stderr", "json" }

func (a *Alerts) validate() error {
	if a.Format != "json" {
		return fmt.Errorf("alerts.format: %q is not supported (json)", a.Format)
	}
	return nil
}

func (a *Alerts) paths() []*string { return []*string{&a.File} }
