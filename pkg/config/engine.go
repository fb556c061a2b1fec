package config

// Engine configures nfr-engine, the analytics API server.
type Engine struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:8080
	DB     string `yaml:"db"`     // SQLite database file
}

func (e *Engine) setDefaults()     { e.Listen, e.DB = "127.0.0.1:8080", "/var/lib/nfr/engine.db" }
func (e *Engine) validate() error  { return nil }
func (e *Engine) paths() []*string { return []*string{&e.DB} }
