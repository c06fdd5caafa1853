//go:build !unix

package syslog

import "errors"

// Without Unix socket options the receive buffer stays at the system default and
// kernel drops are not observable.

var errNoSockopt = errors.New("socket options are not supported on this platform")

func setRcvBuf(int, int) error { return errNoSockopt }

func getRcvBuf(int) (int, error) { return 0, errNoSockopt }

func socketInode(int) (uint64, error) { return 0, errNoSockopt }

func kernelDrops(uint64) (uint64, error) { return 0, errNoSockopt }
