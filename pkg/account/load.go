package account

import (
	"errors"
	"io/fs"

	"github.com/nfr-project/nfr/pkg/config"
)

// LoadConfig loads the config.yml config.Locate names. A missing default file
// gives the defaults (with Path set to where it would be); so does a
// missing named file when create is set (nfr-account register creates it),
// and otherwise it is an error.
func LoadConfig(flag string, create bool) (*config.Config, error) {
	path, explicit := config.Locate(flag)
	c, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) && (!explicit || create) {
		c = config.Default()
		c.Path = path
		return c, nil
	}
	return c, err
}
