package ftp

import (
	"crypto/tls"
	"net"
	"strconv"
	"time"
)

const (
	tls10 = tls.VersionTLS10
	tls11 = tls.VersionTLS11
)

func tlsClientHandshake(conn net.Conn, cfg *tls.Config) error {
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	return tls.Client(conn, cfg).Handshake()
}

func itoa(i int) string { return strconv.Itoa(i) }
