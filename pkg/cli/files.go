package cli

import (
	"io"
	"os"
)

// ReadFiles calls read on each named file in turn, none or "-" meaning
// stdin, the way a filter reads its FILE arguments. A file that cannot be
// opened is reported and skipped: code is then ExitFailure. A read that
// fails is reported and stops the loop: err is then not nil, and the
// caller knows its input is incomplete.
func (u *UI) ReadFiles(files []string, read func(r io.Reader, name string) error) (code int, err error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	code = ExitOK
	for _, name := range files {
		in := os.Stdin
		if name != "-" {
			if in, err = os.Open(name); err != nil {
				u.Errorf("%v", err)
				code = ExitFailure
				continue
			}
		}
		err = read(in, name)
		in.Close()
		if err != nil {
			u.Errorf("%s: %v", name, err)
			return ExitFailure, err
		}
	}
	return code, nil
}
