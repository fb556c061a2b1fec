// Package check answers "would nfr listen run?" before it is run: by a new
// user, and by a systemd unit's ExecStartPre. It validates config.yml and the
// scope it names (file:line errors), tells whether the capture interface can
// be opened with the current privileges and which capability is missing,
// whether the API key works (or that the built-in engine will score), and
// whether the state, spool, log and alert files can be written.
//
// It is also the one place that reports a bad config.yml: the nfr wrapper
// asks it for the few answers it needs to assemble a pipeline (Answers) and
// stops on its error instead of letting every stage report the same key.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/account"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/scope"
)

// Exit statuses, as the rest of the family: 0 nfr listen would run, 1 a
// check failed, 2 the configuration is invalid.
const (
	OK      = 0
	Failed  = 1
	Invalid = 2
)

// Checker runs the checks and reports each on one line.
type Checker struct {
	ConfigFlag string // -c FILE; "" means $NFR_CONFIG, else /etc/nfr/config.yml
	Interface  string // overrides network.interface
	Version    string // sent to the API with the key check
	Timeout    time.Duration

	Out    io.Writer                    // "ok: ..." lines
	Errorf func(string, ...any)         // one line per failure
	Hintf  func(string, ...any)         // what to type next
	Caps   func() (uint64, error)       // effective capabilities; default: /proc/self/status
	Packet func(iface string) error     // opens a packet socket on iface; default: AF_PACKET
	Status func(host, key string) error // checks an API key; default: GET /v1/account/status

	status int
}

func (c *Checker) ok(format string, args ...any) {
	fmt.Fprintf(c.Out, "ok: "+format+"\n", args...)
}

func (c *Checker) fail(code int, format string, args ...any) {
	c.Errorf(format, args...)
	c.status = max(c.status, code)
}

// Run runs every check and returns the exit status.
func (c *Checker) Run() int {
	cfg, err := config.Find(c.ConfigFlag)
	if err != nil {
		c.fail(Invalid, "%v", err)
		if errors.Is(err, fs.ErrNotExist) {
			c.Hintf("give an existing file to -c, or copy the sample config.yml there")
		}
		return c.status
	}
	if _, err := os.Stat(cfg.Path); err == nil {
		c.ok("config %s", cfg.Path)
	} else {
		c.ok("config: no %s, using the defaults", cfg.Path)
	}
	c.scope(cfg)
	c.capture(cfg)
	c.scorer(cfg)
	for _, f := range []struct{ key, path string }{{"alerts.file", cfg.Alerts.File}, {"log.file", cfg.Log.File}} {
		switch f.path {
		case "stdout", "stderr", "-":
			continue
		}
		if err := config.CheckWritable(f.path); err != nil {
			c.fail(Failed, "%s: %v", f.key, err)
		} else {
			c.ok("%s %s is writable", f.key, f.path)
		}
	}
	return c.status
}

func (c *Checker) scope(cfg *config.Config) {
	sc, err := scope.Open("", c.ConfigFlag)
	if err == nil {
		c.ok("scope %s: %s", sc.Source(), sc.Summary())
		return
	}
	var errs scope.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			c.fail(Invalid, "%v", e)
		}
	} else {
		c.fail(Invalid, "%v", err)
	}
	c.Hintf("fix the lines above in %s (scope.file of %s); nfr-scope(1) describes the file", cfg.Scope.File, cfg.Path)
}

// Capabilities by number (linux/capability.h).
const (
	capNetAdmin = 12
	capNetRaw   = 13
)

func (c *Checker) capture(cfg *config.Config) {
	iface := c.Interface
	if iface == "" {
		iface = cfg.Network.Interface
	}
	if iface == "" {
		c.fail(Failed, "no interface to listen on: network.interface in %s is empty", cfg.Path)
		c.Hintf("set network.interface in %s, or run: nfr listen IFACE", cfg.Path)
		return
	}
	if iface != "any" {
		if _, err := net.InterfaceByName(iface); err != nil {
			c.fail(Failed, "interface %s: %v", iface, errors.Unwrap(err))
			c.Hintf("list the interfaces with: ip -br link")
			return
		}
	}
	caps, cerr := c.caps()
	missing := []string{}
	if cerr == nil {
		if caps&(1<<capNetRaw) == 0 {
			missing = append(missing, "CAP_NET_RAW")
		}
		if caps&(1<<capNetAdmin) == 0 && cfg.Network.AFPacket {
			missing = append(missing, "CAP_NET_ADMIN")
		}
	}
	if err := c.packet(iface); err != nil {
		if len(missing) == 0 {
			missing = append(missing, "CAP_NET_RAW")
		}
		c.fail(Failed, "interface %s cannot be opened: %v (missing %s)", iface, err, strings.Join(missing, ", "))
		capture := "nfr-capture"
		if p, err := exec.LookPath("nfr-capture"); err == nil {
			capture = p
		}
		c.Hintf("run as root, or give the capability: sudo setcap cap_net_raw,cap_net_admin=eip %s, or run the nfr-listen systemd unit", capture)
		return
	}
	c.ok("interface %s can be opened with the current privileges", iface)
	if cfg.Network.User != "" && os.Geteuid() != 0 {
		c.fail(Failed, "network.user %s: only root can change to another user; leave it empty when not run as root", cfg.Network.User)
	}
}

func (c *Checker) caps() (uint64, error) {
	if c.Caps != nil {
		return c.Caps()
	}
	return EffectiveCaps()
}

func (c *Checker) packet(iface string) error {
	if c.Packet != nil {
		return c.Packet(iface)
	}
	return OpenPacket(iface)
}

// EffectiveCaps reads this process's effective capability set.
func EffectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

func (c *Checker) scorer(cfg *config.Config) {
	key := cfg.AlphaSOC.Key()
	if key == "" {
		c.ok("no API key: the built-in engine (nfr-score) scores events")
		if cfg.Score.State != "" {
			c.writable("score.state", cfg.Score.State)
		}
		return
	}
	c.writable("submit.spool", filepath.Join(cfg.Submit.Spool, "x"))
	status := c.Status
	if status == nil {
		status = c.apiStatus
	}
	if err := status(cfg.AlphaSOC.Host, key); err != nil {
		c.fail(Failed, "API key at %s: %v", cfg.AlphaSOC.Host, err)
		c.Hintf("run: nfr account status, or nfr account register")
		return
	}
	c.ok("API key works with %s", cfg.AlphaSOC.Host)
}

// writable checks that path can be created: its directory exists and is
// writable, or (for a spool nfr-submit creates) its parent is.
func (c *Checker) writable(key, path string) {
	err := config.CheckWritable(path)
	if err != nil {
		if _, serr := os.Stat(filepath.Dir(path)); errors.Is(serr, fs.ErrNotExist) && key == "submit.spool" {
			err = config.CheckWritable(filepath.Dir(path))
		}
	}
	if err != nil {
		c.fail(Failed, "%s: %v", key, err)
		return
	}
	c.ok("%s %s is writable", key, filepath.Dir(path))
}

func (c *Checker) apiStatus(host, key string) error {
	d := c.Timeout
	if d == 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := account.CheckStatus(ctx, host, c.Version, key)
	if err != nil {
		return err
	}
	if !st.Usable {
		if !st.Registered {
			return errors.New("the key is not registered")
		}
		return errors.New("the key has expired")
	}
	return nil
}

// Answers writes what the nfr wrapper needs to assemble its pipelines, one
// KEY=VALUE a line, so that it never reads config.yml itself:
//
//	config=FILE       the config.yml used ("" when the defaults are)
//	scorer=submit     nfr-submit when an API key is set, else score (nfr-score)
//	alerts=WHERE      alerts.file: stderr, stdout or a file name
//	log=WHERE         log.file: stdout, stderr or a file name
//	interface=IFACE   network.interface
//	outputs=N         how many alerts.outputs nfr-alert delivers to
//
// An invalid config.yml is its error, with file and line; the key is never
// printed.
func Answers(w io.Writer, configFlag string) error {
	cfg, err := config.Find(configFlag)
	if err != nil {
		return err
	}
	path := cfg.Path
	if _, err := os.Stat(path); err != nil {
		path = ""
	}
	scorer := "score"
	if cfg.AlphaSOC.Key() != "" {
		scorer = "submit"
	}
	for _, kv := range [][2]string{{"config", path}, {"scorer", scorer}, {"alerts", cfg.Alerts.File},
		{"log", cfg.Log.File}, {"interface", cfg.Network.Interface},
		{"outputs", strconv.Itoa(len(cfg.Alerts.Outputs))}} {
		if strings.ContainsAny(kv[1], "\n\r") {
			return fmt.Errorf("%s: %s: a line break in a file or interface name", cfg.Path, kv[0])
		}
		fmt.Fprintf(w, "%s=%s\n", kv[0], kv[1])
	}
	return nil
}
