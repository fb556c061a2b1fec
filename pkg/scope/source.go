package scope

import "github.com/nfr-project/nfr/pkg/config"

// Open loads the scope: the --scope file if given, else config.yml's
// scope.file (config.yml found as config.Find finds it: -c, $NFR_CONFIG,
// /etc/nfr/config.yml), else the built-in scope.
func Open(scopeFlag, configFlag string) (*Scope, error) {
	path := scopeFlag
	if path == "" {
		c, err := config.Find(configFlag)
		if err != nil {
			return nil, err
		}
		path = c.Scope.File
	}
	if path == "" {
		return Default(), nil
	}
	return Load(path)
}
