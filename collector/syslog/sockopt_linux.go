//go:build linux

package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setRcvBuf requests a receive buffer of n bytes. SO_RCVBUFFORCE (CAP_NET_ADMIN, e.g.
// root) may exceed net.core.rmem_max; without the capability it fails and plain
// SO_RCVBUF, silently clamped by the kernel, is used.
func setRcvBuf(fd, n int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n); err == nil {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n); err != nil {
		return fmt.Errorf("setsockopt SO_RCVBUF: %w", err)
	}
	return nil
}

func getRcvBuf(fd int) (int, error) {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return 0, fmt.Errorf("getsockopt SO_RCVBUF: %w", err)
	}
	return n, nil
}

func socketInode(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("fstat socket: %w", err)
	}
	return st.Ino, nil
}

var errSocketNotFound = errors.New("socket not found in /proc/net/udp{,6}")

// kernelDrops returns the "drops" column (the socket's sk_drops) of the socket with the
// given inode from /proc/net/udp or /proc/net/udp6.
func kernelDrops(inode uint64) (uint64, error) {
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		drops, ok, err := scanProcNetUDP(path, inode)
		if err != nil {
			return 0, err
		}
		if ok {
			return drops, nil
		}
	}
	return 0, errSocketNotFound
}

func scanProcNetUDP(path string, inode uint64) (drops uint64, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil // e.g. no IPv6 support
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	return parseProcNetUDP(f, inode)
}

// parseProcNetUDP finds the line of the socket with the given inode; the columns are
// "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops".
func parseProcNetUDP(r interface{ Read([]byte) (int, error) }, inode uint64) (uint64, bool, error) {
	want := []byte(strconv.FormatUint(inode, 10))
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 13 || !bytes.Equal(fields[9], want) {
			continue
		}
		d, err := strconv.ParseUint(string(fields[12]), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("parse drops column %q: %w", fields[12], err)
		}
		return d, true, nil
	}
	return 0, false, sc.Err()
}
