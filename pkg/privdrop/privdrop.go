// Package privdrop gives up root once the capture interfaces are open, with
// the semantics of tcpdump -Z: the process takes the user's uid, primary
// gid and supplementary groups, keeping the sockets it already holds. If
// the switch fails, or root could be regained after it, Drop returns an
// error and the caller must exit rather than go on as root.
//
// On Linux, Go applies setuid, setgid and setgroups to every thread of the
// process (since Go 1.16), so no thread is left behind as root; Drop checks
// this in /proc as well.
package privdrop

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Identity is what the process switches to.
type Identity struct {
	User   string
	UID    int
	GID    int
	Groups []int
}

// Lookup resolves a user name (or a numeric uid) to its identity: its uid,
// primary group and supplementary groups from the system's user database.
func Lookup(name string) (*Identity, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr != nil {
			return nil, fmt.Errorf("unknown user %q", name)
		}
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("unknown user id %s", name)
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q is not a number", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q is not a number", name, u.Gid)
	}
	id := &Identity{User: u.Username, UID: uid, GID: gid, Groups: []int{gid}}
	// As initgroups(3): the primary group plus every group listing the user.
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil && n != gid {
				id.Groups = append(id.Groups, n)
			}
		}
	}
	return id, nil
}

// ErrNotRoot says there was nothing to drop: the process does not run as
// root. tcpdump carries on in that case, and so may the caller.
var ErrNotRoot = errors.New("not running as root, nothing to drop")

// Drop switches the whole process to the user name. It returns ErrNotRoot
// when the process is not root, and another error if the switch failed or
// did not hold; then the caller must not continue.
func Drop(name string) (*Identity, error) {
	if os.Getuid() != 0 && os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	id, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if err := id.apply(); err != nil {
		return nil, fmt.Errorf("cannot change to user %s: %w", id.User, err)
	}
	return id, nil
}

// apply switches groups first: after setuid the right to do so is gone.
func (id *Identity) apply() error {
	if err := syscall.Setgroups(id.Groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(id.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", id.GID, err)
	}
	if err := syscall.Setuid(id.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", id.UID, err)
	}
	if id.UID == 0 {
		return nil // -Z root: nothing was given up, as with tcpdump
	}
	if os.Getuid() != id.UID || os.Geteuid() != id.UID || os.Getgid() != id.GID || os.Getegid() != id.GID {
		return fmt.Errorf("ids after the switch are uid %d/%d gid %d/%d", os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())
	}
	if syscall.Setuid(0) == nil {
		return errors.New("root can still be regained")
	}
	return checkThreads(id.UID, id.GID)
}

// checkThreads confirms in /proc that every thread took the new ids.
func checkThreads(uid, gid int) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return nil // no /proc to look at; the syscalls said yes
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread has exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || (k != "Uid" && k != "Gid") {
				continue
			}
			want := uid
			if k == "Gid" {
				want = gid
			}
			for _, field := range strings.Fields(v) {
				if n, _ := strconv.Atoi(field); n != want {
					return fmt.Errorf("thread %s still has %s %s", filepath.Base(filepath.Dir(f)), k, strings.TrimSpace(v))
				}
			}
		}
	}
	return nil
}
