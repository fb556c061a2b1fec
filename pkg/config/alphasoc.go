package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// AlphaSOC is the analytics API nfr-submit and nfr-account talk to.
type AlphaSOC struct {
	Host   string `yaml:"host"`    // base URL; default https://api.alphasoc.net
	APIKey string `yaml:"api_key"` // $NFR_API_KEY overrides
}

// KeyEnv is the environment variable that overrides alphasoc.api_key.
const KeyEnv = "NFR_API_KEY"

func (a *AlphaSOC) setDefaults() { a.Host = "https://api.alphasoc.net" }

func (a *AlphaSOC) validate() error {
	u, err := url.Parse(a.Host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alphasoc.host: %q is not an http or https URL", a.Host)
	}
	if u.User != nil {
		return fmt.Errorf("alphasoc.host: put the key in api_key, not in the URL")
	}
	if strings.ContainsAny(a.APIKey, " \t\r\n:") {
		return fmt.Errorf("alphasoc.api_key: contains white space or a colon")
	}
	return nil
}

// Key returns the API key: $NFR_API_KEY when set, else alphasoc.api_key.
func (a *AlphaSOC) Key() string {
	if k := os.Getenv(KeyEnv); k != "" {
		return k
	}
	return a.APIKey
}
