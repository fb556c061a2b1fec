package account

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/config"
	"golang.org/x/sys/unix"
)

// Platform names this build to the key request endpoint: nfr-linux-amd64.
func Platform() string { return "nfr-" + runtime.GOOS + "-" + runtime.GOARCH }

// ValidEmail checks an address as a person types it: one plain address
// with a dotted domain, no display name.
func ValidEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	at := strings.LastIndexByte(s, '@')
	if dom := s[at+1:]; !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") {
		return fmt.Errorf("%q is not an e-mail address (the domain needs a dot)", s)
	}
	return nil
}

// Prompt asks for one line on out and reads it from in. A line that fails
// valid is asked again, up to three times.
func Prompt(in *bufio.Reader, out io.Writer, label string, valid func(string) error) (string, error) {
	for try := 0; try < 3; try++ {
		fmt.Fprintf(out, "%s: ", label)
		line, err := in.ReadString('\n')
		v := strings.TrimSpace(line)
		if err != nil && v == "" {
			if err == io.EOF {
				err = errors.New("no answer")
			}
			return "", fmt.Errorf("%s: %w", strings.ToLower(label), err)
		}
		if verr := valid(v); verr != nil {
			fmt.Fprintf(out, "%v\n", verr)
			continue
		}
		return v, nil
	}
	return "", fmt.Errorf("%s: no valid answer", strings.ToLower(label))
}

// NonEmpty is a validator for Prompt.
func NonEmpty(s string) error {
	if s == "" {
		return errors.New("please type something")
	}
	return nil
}

// Registration is the outcome of Register.
type Registration struct {
	NewKey  bool   // a key was requested and written to the config
	KeyFrom string // where the key came from: the config file or $NFR_API_KEY
}

// Register registers name and email for the configured key, asking the
// server for a key first when there is none and writing it (and host, when
// it differs from the config's) into cfg.Path before registering, so a
// failed registration does not lose the key.
func Register(ctx context.Context, cfg *config.Config, host, version, name, email string) (Registration, error) {
	if err := ValidEmail(email); err != nil {
		return Registration{}, err
	}
	if strings.TrimSpace(name) == "" {
		return Registration{}, errors.New("the name is empty")
	}
	var reg Registration
	key := cfg.AlphaSOC.Key()
	reg.KeyFrom = cfg.Path
	if os.Getenv(config.KeyEnv) != "" {
		reg.KeyFrom = "$" + config.KeyEnv
	}
	if key == "" {
		// Check first that the key can be saved: a key the server gave
		// and nobody kept would be lost.
		if err := canWrite(cfg.Path); err != nil {
			return reg, fmt.Errorf("cannot save a key in %s: %w", cfg.Path, err)
		}
		anon, err := api.NewClient(host, api.ClientOptions{Version: version})
		if err != nil {
			return reg, err
		}
		defer anon.Close()
		key, err = anon.RequestKey(ctx, Platform())
		if err != nil {
			return reg, err
		}
		writeHost := ""
		if host != cfg.AlphaSOC.Host {
			writeHost = host
		}
		if err := WriteKey(cfg.Path, key, writeHost); err != nil {
			return reg, fmt.Errorf("the server gave a key, but it could not be saved: %w", err)
		}
		reg.NewKey, reg.KeyFrom = true, cfg.Path
	}
	c, err := api.NewClient(host, api.ClientOptions{Key: key, Version: version})
	if err != nil {
		return reg, err
	}
	defer c.Close()
	return reg, c.Register(ctx, name, email)
}

// Status is an account's state as nfr-account status reports it.
type Status struct {
	api.StatusResponse
	Host    string `json:"host"`
	KeyFrom string `json:"keyFrom"`
	Usable  bool   `json:"usable"`
}

// CheckStatus asks the server about key.
func CheckStatus(ctx context.Context, host, version, key string) (*Status, error) {
	c, err := api.NewClient(host, api.ClientOptions{Key: key, Version: version})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if r.Messages == nil {
		r.Messages = []api.Message{}
	}
	return &Status{StatusResponse: *r, Host: host, Usable: r.Registered && !r.Expired}, nil
}

// WriteText writes the human summary of st.
func (st *Status) WriteText(w io.Writer) {
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(w, "server:      %s\n", st.Host)
	fmt.Fprintf(w, "key from:    %s\n", st.KeyFrom)
	fmt.Fprintf(w, "registered:  %s\n", yes[st.Registered])
	fmt.Fprintf(w, "expired:     %s\n", yes[st.Expired])
	for _, m := range st.Messages {
		fmt.Fprintf(w, "message:     %s (level %d)\n", strings.TrimSpace(m.Body), m.Level)
	}
	if st.Usable {
		fmt.Fprintln(w, "the key is usable")
	} else {
		fmt.Fprintln(w, "the key is not usable")
	}
}

// WriteJSON writes st as one JSON object.
func (st *Status) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Reset asks the server to mail a new key to email.
func Reset(ctx context.Context, host, version, email string) error {
	if err := ValidEmail(email); err != nil {
		return err
	}
	c, err := api.NewClient(host, api.ClientOptions{Version: version})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.ResetKey(ctx, email)
}

// ExposedConfig says why a config holding a key is readable by others, or
// "" when it is not.
func ExposedConfig(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("%s holds the API key and is readable by others (mode %04o)", path, fi.Mode().Perm())
}

// IsTTY reports whether f is a terminal one can prompt on (a character
// device that answers terminal ioctls; /dev/null does not).
func IsTTY(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// canWrite checks that path can be replaced: its directory exists (or can
// be made) and takes a new file.
func canWrite(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".nfr-account-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
