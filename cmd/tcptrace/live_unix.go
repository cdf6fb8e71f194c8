//go:build unix

package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// dropPrivileges switches a process started as root to the named user and
// that user's groups, as tcpdump -Z does, once the capture is open: the
// open capture socket and save file stay usable, and a bug in packet
// handling can no longer act as root. Setting the IDs clears every
// capability. Since Go 1.16 the calls apply to all threads on Linux.
// It does nothing when not root or when name is "".
func dropPrivileges(name string) error {
	if name == "" || os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("--user %s: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("--user %s: user ID %q is not a number", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("--user %s: group ID %q is not a number", name, u.Gid)
	}
	if uid == 0 {
		return nil
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				groups = append(groups, g)
			}
		}
	}
	// Groups first, then the group, then the user: once the user ID is
	// no longer 0 the others cannot be changed any more.
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("switching to user %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("switching to user %s: setgid: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("switching to user %s: setuid: %w", name, err)
	}
	if os.Geteuid() != uid || os.Getegid() != gid {
		return fmt.Errorf("switching to user %s: still running as uid %d gid %d", name, os.Geteuid(), os.Getegid())
	}
	return nil
}

// giveToSudoUser hands a file created as root under sudo to the user who
// ran sudo, so that they can read and delete their own capture. Failing to
// is not worth stopping the capture for: the file is still there, owned by
// root.
func giveToSudoUser(path string) {
	if os.Geteuid() != 0 {
		return
	}
	uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	if err1 != nil || err2 != nil {
		return
	}
	_ = os.Chown(path, uid, gid)
}

// terminalWidth is the number of columns of the terminal f, or 0.
func terminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
