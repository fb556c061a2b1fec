// Command nfr-account registers for an analytics API key, checks it, and
// asks for a reset; the key goes into config.yml. See nfr-account(1).
package main

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/nfr-project/nfr/pkg/account"
	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/config"
)

type options struct {
	cli.Common
	Config string `short:"c" long:"config" value-name:"FILE" description:"config.yml (default $NFR_CONFIG, else /etc/nfr/config.yml)"`
	Host   string `long:"host" value-name:"URL" description:"API base URL (overrides alphasoc.host)"`
	Name   string `long:"name" value-name:"NAME" description:"register: your name (asked on a terminal when missing)"`
	Email  string `long:"email" value-name:"ADDRESS" description:"register: your e-mail address (asked on a terminal when missing)"`
	JSON   bool   `long:"json" description:"status: print one JSON object instead of a summary"`
}

func main() { os.Exit(run()) }

func run() int {
	ui := cli.New("nfr-account", os.Stderr)
	var o options
	args, done, code := ui.Parse(&o, "[OPTION]... register | status | reset [EMAIL]", os.Args[1:], os.Stdout)
	if done {
		return code
	}
	if len(args) == 0 {
		return ui.Usagef("a command is needed: register, status or reset [EMAIL]")
	}
	most, ok := map[string]int{"register": 1, "status": 1, "reset": 2}[args[0]]
	if !ok {
		return ui.Usagef("unknown command %q: register, status or reset [EMAIL]", args[0])
	}
	if len(args) > most {
		return ui.Usagef("too many arguments for %s", args[0])
	}
	cfg, err := config.Find(o.Config)
	if errors.Is(err, fs.ErrNotExist) && args[0] == "register" {
		// register creates the file it was told to write the key into.
		cfg = config.Default()
		cfg.Path, _ = config.Locate(o.Config)
		err = nil
	}
	if err != nil {
		ui.Errorf("%v", err)
		return cli.ExitUsage
	}
	host := cfg.AlphaSOC.Host
	if o.Host != "" {
		host = o.Host
	}
	if api.Cleartext(host) {
		ui.Warnf("%s is plain http: the API key crosses the network unencrypted", host)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(err error) int {
		ui.Errorf("%v", err)
		if api.IsKeyRejected(err) {
			ui.Hintf("run: nfr account register")
		}
		return cli.ExitFailure
	}

	switch args[0] {
	case "register":
		if o.Name == "" || o.Email == "" {
			if !account.IsTTY(os.Stdin) {
				return ui.Usagef("--name and --email are needed when input is not a terminal")
			}
			in := bufio.NewReader(os.Stdin)
			if o.Name == "" {
				if o.Name, err = account.Prompt(in, os.Stderr, "Name", account.NonEmpty); err != nil {
					return fail(err)
				}
			}
			if o.Email == "" {
				if o.Email, err = account.Prompt(in, os.Stderr, "E-mail", account.ValidEmail); err != nil {
					return fail(err)
				}
			}
		}
		if err := account.ValidEmail(o.Email); err != nil {
			return ui.Usagef("--email: %v", err)
		}
		reg, err := account.Register(ctx, cfg, host, cli.Version, o.Name, o.Email)
		if reg.NewKey {
			ui.Infof("a new API key is saved in %s (mode 0600)", cfg.Path)
		}
		if err != nil {
			return fail(err)
		}
		ui.Infof("registered %s with %s; check it with: nfr account status", o.Email, host)
		if msg := account.ExposedConfig(cfg.Path); msg != "" && cfg.AlphaSOC.APIKey != "" {
			ui.Warnf("%s", msg)
			ui.Hintf("run: chmod 600 %s", cfg.Path)
		}
	case "status":
		key := cfg.AlphaSOC.Key()
		if key == "" {
			ui.Errorf("no API key: alphasoc.api_key in %s and $%s are empty", cfg.Path, config.KeyEnv)
			ui.Hintf("run: nfr account register")
			return cli.ExitFailure
		}
		if msg := account.ExposedConfig(cfg.Path); msg != "" && os.Getenv(config.KeyEnv) == "" {
			ui.Warnf("%s", msg)
			ui.Hintf("run: chmod 600 %s", cfg.Path)
		}
		st, err := account.CheckStatus(ctx, host, cli.Version, key)
		if err != nil {
			return fail(err)
		}
		st.KeyFrom = cfg.Path
		if os.Getenv(config.KeyEnv) != "" {
			st.KeyFrom = "$" + config.KeyEnv
		}
		if o.JSON {
			if err := st.WriteJSON(os.Stdout); err != nil {
				return fail(err)
			}
		} else {
			st.WriteText(os.Stdout)
		}
		if !st.Usable {
			if !st.Registered {
				ui.Hintf("run: nfr account register")
			}
			return cli.ExitFailure
		}
	case "reset":
		email := o.Email
		if len(args) == 2 {
			email = args[1]
		}
		if email == "" {
			if !account.IsTTY(os.Stdin) {
				return ui.Usagef("reset needs an e-mail address when input is not a terminal")
			}
			if email, err = account.Prompt(bufio.NewReader(os.Stdin), os.Stderr, "E-mail", account.ValidEmail); err != nil {
				return fail(err)
			}
		}
		if err := account.ValidEmail(email); err != nil {
			return ui.Usagef("%v", err)
		}
		if err := account.Reset(ctx, host, cli.Version, email); err != nil {
			return fail(err)
		}
		ui.Infof("asked %s to mail a new key to %s", host, email)
	}
	return cli.ExitOK
}
