package uploader

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// Failure classes, the "class" label of cloudscout_upload_failures_total.
const (
	ClassDNS       = "dns"
	ClassTLS       = "tls"
	ClassProxyAuth = "proxy_auth"
	ClassAuth      = "auth"
	ClassHTTP4xx   = "http_4xx"
	ClassHTTP5xx   = "http_5xx"
	ClassRedirect  = "redirect" // 3xx: the URL points somewhere else
	ClassTimeout   = "timeout"
	ClassNetwork   = "network"
	ClassRejected  = "rejected" // permanent: the batch went to the dead-letter folder
	ClassIO        = "io"       // file system: reading the spool, writing a file target
	ClassCanceled  = "canceled" // shutting down; not counted as a failure
)

// skewLimit is where clock difference starts to break signed requests (S3
// SigV4 allows 15 minutes; many token services allow 5).
const skewLimit = 5 * time.Minute

// Classify sorts an upload error into a failure class and explains it in
// plain words for an operator. It returns ("", "") for nil.
func Classify(err error) (class, explanation string) {
	if err == nil {
		return "", ""
	}
	var (
		local    *localError
		perm     *PermanentError
		pe       *ProxyError
		se       *StatusError
		dnsErr   *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		verify   *tls.CertificateVerificationError
		opErr    *net.OpError
		pathErr  *fs.PathError
		linkErr  *os.LinkError
	)
	switch {
	case errors.As(err, &local):
		return ClassIO, "cannot read the batch from the spool (" + local.err.Error() + "): check the spool folder's disk and permissions"
	case errors.As(err, &perm):
		why := perm.Err.Error()
		if errors.As(err, &se) {
			why = statusText(se)
		}
		return ClassRejected, "the target refused this batch as invalid (" + why +
			"); it was moved to the dead-letter folder. Fix the cause, then run 'cloudscout spool requeue'"
	case errors.Is(err, context.Canceled):
		return ClassCanceled, "the upload was cancelled (shutting down)"
	case errors.As(err, &pe):
		// Some proxies (tinyproxy 1.11) answer a CONNECT with bad
		// credentials 401 instead of 407; either way it is the proxy asking.
		if pe.Status == http.StatusProxyAuthRequired || pe.Status == http.StatusUnauthorized {
			return ClassProxyAuth, fmt.Sprintf("the proxy %s requires authentication (%d %s): put user:password in proxy_url "+
				"(or proxy_password_file, or HTTPS_PROXY), or check them", pe.Proxy, pe.Status, pe.Text)
		}
		return ClassNetwork, fmt.Sprintf("the proxy %s refused to open a tunnel to the target (%d %s): "+
			"check that the proxy allows this host and port", pe.Proxy, pe.Status, pe.Text)
	case errors.As(err, &se):
		return classifyStatus(se)
	case errors.Is(err, ErrCredentials):
		return ClassAuth, "the credentials could not be read: " + err.Error()
	case strings.Contains(err.Error(), "failed to refresh cached credentials"):
		return ClassAuth, "no S3 credentials were found: set access_key_file and secret_key_file on the target, " +
			"or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or instance_role: true when running on EC2/ECS"
	case errors.As(err, &unknown):
		return ClassTLS, "the server's certificate is signed by an unknown authority" + issuer(unknown.Cert) +
			": add that CA to ca_file, or to proxy_ca_file when a TLS-inspecting proxy re-signs traffic"
	case errors.As(err, &hostErr):
		return ClassTLS, "the server's certificate does not cover the name we connect to (" + hostErr.Error() +
			"): use a host name listed in the certificate"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return ClassTLS, "the server's certificate has expired or is not yet valid (" + invalid.Error() +
				"): renew it, or check this machine's clock"
		}
		return ClassTLS, "the server's certificate is not acceptable: " + invalid.Error()
	case errors.As(err, &verify):
		return ClassTLS, "the server's certificate could not be verified: " + verify.Error()
	case errors.As(err, &recErr):
		return ClassTLS, "the server did not answer with TLS: the port may serve plain HTTP, or a proxy intercepts it"
	case errors.As(err, &alertErr), strings.Contains(err.Error(), "remote error: tls:"):
		return ClassTLS, "the server refused the TLS handshake (" + lastPart(err) +
			"): it may require a client certificate (client_cert/client_key) or a newer TLS version"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return ClassDNS, "the host name " + dnsErr.Name + " does not resolve (no such host): check the URL and the DNS servers this machine uses"
		}
		return ClassDNS, "DNS lookup of " + dnsErr.Name + " failed (" + dnsErr.Err + "): check the DNS servers this machine uses"
	case isTimeout(err):
		where := "the target"
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			where = "connecting to " + addrOf(opErr)
		}
		return ClassTimeout, where + " took longer than the timeout: a firewall may drop the packets, or the target is overloaded"
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Op == "proxyconnect" {
			return ClassNetwork, "the proxy at " + addrOf(opErr) + " refused the connection: check proxy_url / HTTPS_PROXY"
		}
		addr := "the target"
		if errors.As(err, &opErr) {
			addr = addrOf(opErr)
		}
		return ClassNetwork, "connection refused by " + addr + ": nothing listens on that port, or a firewall rejects it"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ClassNetwork, "no network route to the target (" + lastPart(err) + "): check routing and firewalls"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ClassNetwork, "the connection was closed before the target answered: a firewall, proxy or load balancer may cut it, " +
			"or the target restarted"
	case errors.As(err, &pathErr), errors.As(err, &linkErr), errors.Is(err, syscall.ENOSPC):
		return ClassIO, "file system error: " + err.Error()
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return ClassNetwork, "cannot reach the proxy at " + addrOf(opErr) + ": " + lastPart(err)
	}
	return ClassNetwork, err.Error()
}

func classifyStatus(se *StatusError) (string, string) {
	text := statusText(se)
	skewNote := ""
	if d, ok := se.Skew(); ok && (d > skewLimit || d < -skewLimit) {
		skewNote = fmt.Sprintf("; note: the server's clock differs from ours by %s, sync this machine with NTP", d.Round(time.Second))
	}
	switch se.Code {
	case "RequestTimeTooSkewed":
		return ClassAuth, "clock skew: the server refused the request because this machine's clock is too far from the server's (" +
			text + "): sync the clock with NTP" + skewNote
	case "SignatureDoesNotMatch":
		return ClassAuth, "the secret key does not match the access key (" + text + "): check secret_key_file" + skewNote
	case "InvalidAccessKeyId":
		return ClassAuth, "the access key id is unknown to the server (" + text + "): check access_key_file"
	case "NoSuchBucket":
		return ClassHTTP4xx, "the bucket does not exist (" + text + "): check the bucket name and the endpoint/region"
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
		return ClassHTTP4xx, "the bucket lives in another region or endpoint (" + text + "): check region/endpoint"
	}
	switch s := se.Status; {
	case s == http.StatusProxyAuthRequired:
		return ClassProxyAuth, "the proxy requires authentication (" + text + "): put user:password in proxy_url, or check them"
	case s == http.StatusUnauthorized:
		return ClassAuth, "the target rejected the credentials (" + text + "): check token_file/token_env or the keys" + skewNote
	case s == http.StatusForbidden:
		return ClassAuth, "access denied (" + text + "): the credentials lack permission to write there" + skewNote
	case s == http.StatusTooManyRequests:
		return ClassHTTP4xx, "the target is throttling uploads (" + text + "); will retry later"
	case s == http.StatusRequestTimeout:
		return ClassHTTP4xx, "the target timed out waiting for the request (" + text + "); will retry"
	case s >= 500:
		return ClassHTTP5xx, "the target had a server-side error (" + text + "); will retry"
	case s >= 400:
		return ClassHTTP4xx, "the target answered " + text + ": check the URL and settings" + skewNote
	}
	return ClassRedirect, "the target answered with a redirect (" + text + "): use the final URL in the configuration"
}

func statusText(se *StatusError) string {
	s := fmt.Sprintf("%d %s", se.Status, http.StatusText(se.Status))
	if se.Code != "" {
		s += " " + se.Code
	}
	if se.Message != "" {
		m := se.Message
		if len(m) > 200 {
			m = m[:200] + "..."
		}
		s += ": " + m
	}
	return s
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func addrOf(op *net.OpError) string {
	if op.Addr != nil {
		return op.Addr.String()
	}
	return "the target"
}

func issuer(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(" (issuer %q)", c.Issuer.String())
}

// lastPart returns the innermost message of a wrapped error chain, which is
// the part an operator can act on.
func lastPart(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
