package account

import (
	"errors"
	"io/fs"
	"os"

	"github.com/nfr-project/nfr/pkg/config"
)

// ConfigEnv names config.yml when -c does not.
const ConfigEnv = "NFR_CONFIG"

// ConfigPath returns the config.yml to use: flag (-c FILE), else
// $NFR_CONFIG, else config.DefaultPath. explicit says whether the user
// named it, in which case a missing file is an error.
func ConfigPath(flag string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, true
	}
	return config.DefaultPath, false
}

// LoadConfig loads the config.yml ConfigPath names. A missing default file
// gives the defaults (with Path set to where it would be); so does a
// missing named file when create is set (nfr-account register creates it),
// and otherwise it is an error.
func LoadConfig(flag string, create bool) (*config.Config, error) {
	path, explicit := ConfigPath(flag)
	c, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) && (!explicit || create) {
		c = config.Default()
		c.Path = path
		return c, nil
	}
	return c, err
}
