//go:build unix && !linux

package syslog

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Outside Linux the buffer is requested with plain SO_RCVBUF and the kernel's per-socket
// drop counter is not read (the collector ships as a Linux container).

var errNoKernelDrops = errors.New("kernel udp drop counter is only read on linux")

func setRcvBuf(fd, n int) error {
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

func socketInode(int) (uint64, error) { return 0, errNoKernelDrops }

func kernelDrops(uint64) (uint64, error) { return 0, errNoKernelDrops }
