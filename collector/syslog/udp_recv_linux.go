//go:build linux

package syslog

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpMaxBatch bounds the datagrams per recvmmsg call; udpScratchBytes bounds the
// reader's buffer (batch × slot), so a 64 KiB maximum message size gives 16.
const (
	udpMaxBatch     = 64
	udpScratchBytes = 1 << 20
)

// udpPacket is one datagram read into the reader's scratch buffer; data is valid
// until the next read.
type udpPacket struct {
	data      []byte
	truncated bool
	peer      netip.AddrPort
}

// udpBatchReader reads several datagrams per syscall with recvmmsg, driven by
// the runtime poller through the conn's RawConn. It works on AF_INET and AF_INET6
// (dual-stack) sockets: the family is taken from each datagram's source address.
// It is used by one goroutine.
type udpBatchReader struct {
	rc    syscall.RawConn
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for a sockaddr_in too
	slots [][]byte
	pkts  []udpPacket
	zones map[uint32]string // IPv6 scope id -> interface name
}

func newUDPBatchReader(conn *net.UDPConn, maxSize, batch int) (*udpBatchReader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udp raw conn: %w", err)
	}
	// A datagram longer than its slot is cut by the kernel, which reports it
	// with MSG_TRUNC.
	slot := udpSlotSize(maxSize)
	if batch <= 0 {
		batch = min(udpMaxBatch, max(1, udpScratchBytes/slot))
	}
	b := &udpBatchReader{
		rc:    rc,
		hdrs:  make([]unix.Mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet6, batch),
		slots: make([][]byte, batch),
		pkts:  make([]udpPacket, batch),
	}
	scratch := make([]byte, batch*slot)
	for i := range batch {
		b.slots[i] = scratch[i*slot : (i+1)*slot : (i+1)*slot]
		b.iovs[i].Base = &b.slots[i][0]
		b.iovs[i].SetLen(slot)
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	return b, nil
}

// read waits for at least one datagram and returns those available, up to the
// batch size.
func (b *udpBatchReader) read() ([]udpPacket, error) {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.hdrs[i].Hdr.Flags = 0
		b.hdrs[i].Len = 0
	}
	var n int
	var errno syscall.Errno
	err := b.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				n = int(r)
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait in the poller
			default:
				errno = e
				return true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, fmt.Errorf("recvmmsg: %w", errno)
	}
	for i := range n {
		h := &b.hdrs[i]
		b.pkts[i] = udpPacket{
			data:      b.slots[i][:h.Len],
			truncated: h.Hdr.Flags&unix.MSG_TRUNC != 0,
			peer:      b.peer(&b.names[i], h.Hdr.Namelen),
		}
	}
	return b.pkts[:n], nil
}

// peer decodes a source address as net.UDPConn.ReadFromUDPAddrPort does, with
// IPv4-mapped IPv6 addresses (dual-stack sockets) unmapped; an unknown family
// gives the zero AddrPort.
func (b *udpBatchReader) peer(sa *unix.RawSockaddrInet6, namelen uint32) netip.AddrPort {
	// The port is stored in network byte order.
	pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port := uint16(pb[0])<<8 | uint16(pb[1])
	switch {
	case sa.Family == unix.AF_INET && namelen >= unix.SizeofSockaddrInet4:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case sa.Family == unix.AF_INET6 && namelen >= unix.SizeofSockaddrInet6:
		return unmapAddrPort(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).WithZone(b.zone(sa.Scope_id)), port))
	}
	return netip.AddrPort{}
}

// zone names an IPv6 scope id as the net package does (interface name, else the
// number). Names are cached per reader: a link-local sender would otherwise cost
// an interface lookup per datagram. The cache is bounded by the interfaces the
// host has; it is reset if it ever grows past that sort of size.
func (b *udpBatchReader) zone(id uint32) string {
	if id == 0 {
		return ""
	}
	if z, ok := b.zones[id]; ok {
		return z
	}
	if b.zones == nil || len(b.zones) >= 256 {
		b.zones = make(map[uint32]string)
	}
	z := strconv.FormatUint(uint64(id), 10)
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		z = ifi.Name
	}
	b.zones[id] = z
	return z
}
