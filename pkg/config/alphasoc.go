package config

import (
	"fmt"
	"net/url"
)

// AlphaSOC is the analytics API nfr-submit and nfr-account talk to.
type AlphaSOC struct {
	Host   string `yaml:"host"`    // base URL; default https://api.alphasoc.net
	APIKey string `yaml:"api_key"` // $NFR_API_KEY overrides
}

func (a *AlphaSOC) setDefaults() { a.Host = "https://api.alphasoc.net" }

func (a *AlphaSOC) validate() error {
	u, err := url.Parse(a.Host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alphasoc.host: %q is not an http or https URL", a.Host)
	}
	return nil
}
