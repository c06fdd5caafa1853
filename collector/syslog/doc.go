// Package syslog implements the syslog network receivers (UDP, TCP, TLS). They frame
// messages and hand the raw message bytes, syslog header still on, to a Handler; parsing
// the header is left to the parsers.
//
// # Framing (TCP and TLS)
//
// The framing is detected for every message, since senders such as rsyslog may mix
// them on one connection:
//
//   - A message starting with "MSG-LEN SP" (RFC 6587 octet counting, RFC 5425: a
//     digit 1-9, at most 8 digits in all, a value up to 16 MiB) is read by count. One
//     trailing LF or CR LF inside the frame is stripped: rsyslog puts its template's
//     newline inside the frame.
//   - Anything else is non-transparent framing: the message ends at LF or NUL, and a
//     trailing CR is stripped.
//
// A malformed MSG-LEN (a leading zero, too many digits, a value above 16 MiB, digits
// followed by something other than SP) is a framing error, counted in
// framing_errors_total{reason}. The connection is kept: the bytes from the bad count up
// to the next LF or NUL are delivered as one LF-framed message. Once a connection has
// sent an LF-framed message, a line that merely starts with digits (a timestamp, say) is
// taken as data and not counted; on a fresh or octet-counted connection it is counted.
// A stream that ends inside an octet-counted frame delivers what arrived, marked
// truncated, and counts a framing error (short_frame). Empty messages are ignored.
//
// Messages longer than MaxMessageSize are delivered truncated to MaxMessageSize
// (truncated=true, truncated_total) as soon as that much has arrived, and the rest of the
// frame or line is read through and discarded, never buffered: memory per connection is
// bounded by MaxMessageSize plus a 16 KiB read buffer.
//
// # Limits (TCP and TLS)
//
// Connections beyond MaxConnections, or beyond MaxConnectionsPerSender from one IP, or
// from a sender that Allow refuses, are closed at accept and counted in
// connections_rejected_total{reason}. The TLS handshake runs under HandshakeTimeout. A
// connection is closed when it sends nothing for IdleTimeout, and also when one message
// takes longer than IdleTimeout to arrive (a slowloris sender dribbling bytes); time the
// Handler spends blocked does not count. While the Handler blocks, the connection is not
// read, so TCP flow control slows the sender instead of dropping (backpressure). Accept
// errors such as EMFILE back off (5 ms doubling to 1 s) instead of spinning.
//
// # UDP
//
// One datagram is one message; trailing LF and NUL bytes are stripped. Datagrams longer
// than MaxMessageSize are delivered truncated. The socket's SO_RCVBUF is requested
// (SO_RCVBUFFORCE first, which needs CAP_NET_ADMIN) and the granted size is logged and
// exported; the kernel's per-socket drop counter (the drops column of /proc/net/udp and
// /proc/net/udp6) is polled and exported as udp_kernel_drops_total. Datagrams from
// refused senders and datagrams the Handler returns an error for are counted in
// udp_dropped_total{reason}.
package syslog
