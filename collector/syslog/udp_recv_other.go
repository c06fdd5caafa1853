//go:build !linux

package syslog

import (
	"net"
	"net/netip"
)

// udpPacket is one datagram read into the reader's buffer; data is valid until
// the next read.
type udpPacket struct {
	data      []byte
	truncated bool
	peer      netip.AddrPort
}

// udpBatchReader reads one datagram per syscall: recvmmsg is Linux-only, and the
// collector ships as a Linux container.
type udpBatchReader struct {
	conn *net.UDPConn
	buf  []byte
	max  int
	pkts [1]udpPacket
}

func newUDPBatchReader(conn *net.UDPConn, maxSize, _ int) (*udpBatchReader, error) {
	// One byte more than the maximum tells a datagram that was cut by the kernel.
	return &udpBatchReader{conn: conn, buf: make([]byte, udpSlotSize(maxSize)+1), max: maxSize}, nil
}

func (b *udpBatchReader) read() ([]udpPacket, error) {
	n, ap, err := b.conn.ReadFromUDPAddrPort(b.buf)
	if err != nil {
		return nil, err
	}
	b.pkts[0] = udpPacket{data: b.buf[:min(n, b.max)], truncated: n > b.max, peer: unmapAddrPort(ap)}
	return b.pkts[:], nil
}
