// Package config loads config.yml, the configuration shared by the nfr-*
// programs and the nfr wrapper. Loading is strict: an unknown key is an error
// naming the file and line. Each section lives in its own file of this
// package; every key is documented in the sample config.yml at the
// repository root, which the tests load so it cannot rot.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	yaml "gopkg.in/yaml.v2"
)

// DefaultPath is where the wrapper and the programs look when neither -c nor
// $NFR_CONFIG names a file.
const DefaultPath = "/etc/nfr/config.yml"

// Config is the whole of config.yml.
type Config struct {
	AlphaSOC AlphaSOC `yaml:"alphasoc"`
	Network  Network  `yaml:"network"`
	Scope    Scope    `yaml:"scope"`
	Alerts   Alerts   `yaml:"alerts"`
	Submit   Submit   `yaml:"submit"`
	Score    Score    `yaml:"score"`
	Engine   Engine   `yaml:"engine"`
	Analysis Analysis `yaml:"analysis"`
	// Sensor names this sensor in alerts (default: the host name).
	Sensor string `yaml:"sensor"`
	Log    Log    `yaml:"log"`

	// Path is the file the configuration was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Default returns the configuration used when no file exists.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	c.AlphaSOC.setDefaults()
	c.Network.setDefaults()
	c.Scope.setDefaults()
	c.Alerts.setDefaults()
	c.Submit.setDefaults()
	c.Score.setDefaults()
	c.Engine.setDefaults()
	c.Analysis.setDefaults()
	c.Log.setDefaults()
}

// Error is a configuration error; programs exit 2 on it.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads path strictly over the defaults.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b, path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Parse parses config.yml content; name is used in errors.
func Parse(b []byte, name string) (*Config, error) {
	c := Default()
	c.Path = name
	if len(bytes.TrimSpace(b)) > 0 {
		if err := yaml.UnmarshalStrict(b, c); err != nil {
			return nil, YAMLError(name, err)
		}
	}
	if err := c.validate(); err != nil {
		if ce, ok := err.(*Error); ok {
			ce.File = name
			return nil, ce
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	c.resolvePaths()
	return c, nil
}

func (c *Config) validate() error {
	for _, v := range []interface{ validate() error }{&c.AlphaSOC, &c.Network, &c.Scope, &c.Alerts, &c.Submit, &c.Score, &c.Engine, &c.Analysis, &c.Log} {
		if err := v.validate(); err != nil {
			return err
		}
	}
	return nil
}

// resolvePaths makes relative file names in the config relative to the
// config file's directory, as users expect of /etc/nfr/config.yml.
func (c *Config) resolvePaths() {
	if c.Path == "" {
		return
	}
	dir := filepath.Dir(c.Path)
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && *p != "-" && *p != "stdout" && *p != "stderr" {
			*p = filepath.Join(dir, *p)
		}
	}
	for _, p := range c.paths() {
		rel(p)
	}
	c.Alerts.resolveFileURLs(dir)
}

func (c *Config) paths() []*string {
	var ps []*string
	ps = append(ps, c.Scope.paths()...)
	ps = append(ps, c.Alerts.paths()...)
	ps = append(ps, c.Submit.paths()...)
	ps = append(ps, c.Score.paths()...)
	ps = append(ps, c.Engine.paths()...)
	ps = append(ps, c.Log.paths()...)
	return ps
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// YAMLError turns a yaml.v2 error into one line naming the file and line.
func YAMLError(name string, err error) error {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return &Error{File: name, Line: line, Msg: Explain(m[2])}
	}
	return &Error{File: name, Msg: Explain(msg)}
}

var notList = regexp.MustCompile("^cannot unmarshal !!\\w+ `(.*)` into \\[\\]")
var wrongType = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\w+)")

// Explain rewrites a yaml.v2 type error in the user's terms: a scalar where
// a list is needed says how to write the list.
func Explain(msg string) string {
	if m := notList.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%q is not a list: write [%s], or one \"- %s\" a line below the key", m[1], m[1], m[1])
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		want := map[string]string{"int": "a number", "bool": "true or false", "string": "a string", "float64": "a number"}[m[3]]
		if want != "" {
			return fmt.Sprintf("%q is not %s", m[2], want)
		}
	}
	return msg
}

// Locate names the config.yml to use: flag (-c FILE), else $NFR_CONFIG,
// else DefaultPath. named says whether the user named it, in which case a
// missing file is an error rather than the defaults.
func Locate(flag string) (path string, named bool) {
	if flag != "" {
		return flag, true
	}
	if p := os.Getenv("NFR_CONFIG"); p != "" {
		return p, true
	}
	return DefaultPath, false
}

// Find is how every nfr-* program finds its configuration: the file Locate
// names. A missing DefaultPath gives the defaults, with Path still naming
// DefaultPath so messages (and nfr-account register, which creates it) say
// where the file would be. A missing named file is an error that
// errors.Is(err, fs.ErrNotExist).
func Find(flag string) (*Config, error) {
	path, named := Locate(flag)
	if !named {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			c := Default()
			c.Path = path
			return c, nil
		}
	}
	return Load(path)
}

// CheckWritable reports, before any input is read, whether a file can be
// created in the directory that will hold path (a state file, a spool): a
// run must not fail only at its end, after all its input is gone.
func CheckWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: directory %s does not exist", path, dir)
		}
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, ".nfr-check-*")
	if err != nil {
		return fmt.Errorf("%s: cannot write in %s: %v", path, dir, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
