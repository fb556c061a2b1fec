package scope

import (
	"errors"
	"io/fs"

	"github.com/nfr-project/nfr/pkg/config"
)

// Locate returns the scope file to use, or "" for the built-in scope: the
// --scope flag if given, else config.yml's scope.file. config.yml is
// configFlag (-c), else env ($NFR_CONFIG), else defaultConfig when that file
// exists. A config file named by -c or $NFR_CONFIG must exist.
func Locate(scopeFlag, configFlag, env, defaultConfig string) (string, error) {
	if scopeFlag != "" {
		return scopeFlag, nil
	}
	path, required := configFlag, true
	if path == "" {
		path = env
	}
	if path == "" {
		path, required = defaultConfig, false
	}
	if path == "" {
		return "", nil
	}
	c, err := config.Load(path)
	if err != nil {
		if !required && errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	return c.Scope.File, nil
}

// Open locates and loads the scope: the built-in one when no file is named.
func Open(scopeFlag, configFlag, env, defaultConfig string) (*Scope, error) {
	path, err := Locate(scopeFlag, configFlag, env, defaultConfig)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return Default(), nil
	}
	return Load(path)
}
