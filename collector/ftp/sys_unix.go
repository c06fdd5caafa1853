//go:build unix

package ftp

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// linkRename is the no-replace rename for filesystems without renameat2:
// link(2) fails when the target exists, and the source is unlinked after.
func linkRename(oldPath, newPath string) error {
	if err := os.Link(oldPath, newPath); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			return le.Err
		}
		return err
	}
	if err := os.Remove(oldPath); err != nil {
		return fmt.Errorf("remove %s after link: %w", oldPath, err)
	}
	return nil
}

// isDiskFull reports whether err means the filesystem or the quota is full.
func isDiskFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}

// tcpPeerGone peeks at the socket without consuming anything and reports
// whether the peer has closed or reset the connection. The FTP library reads
// the control connection in another goroutine; a peek does not disturb it.
func tcpPeerGone(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	cerr := rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EWOULDBLOCK):
				gone = false
			case err != nil:
				gone = true
			default:
				gone = n == 0
			}
			return
		}
	})
	return gone || cerr != nil
}
