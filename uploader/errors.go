package uploader

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrCredentials marks a failure to obtain the credentials for a target (token
// file unreadable or empty, key files missing). Sinks wrap it; Classify
// reports it as class "auth".
var ErrCredentials = errors.New("credentials unavailable")

// PermanentError means the target rejected this batch itself (malformed,
// too large, bad digest): sending it again cannot succeed. The uploader moves
// the batch to the target's dead-letter folder instead of retrying.
//
// Errors that concern the target rather than the batch (authentication,
// missing bucket, throttling) are not permanent: retrying after the operator
// fixes the target delivers the whole backlog without a requeue.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError. A nil err stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or anything it wraps) is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// StatusError is a non-success answer from a target: an HTTP status and, for
// S3, the error code and message.
type StatusError struct {
	Op      string // e.g. "PUT https://host/path" or "s3 PutObject bucket/key"; never holds secrets
	Status  int
	Code    string // S3 error code such as "AccessDenied"; empty for plain HTTP
	Message string // S3 error message or a bounded excerpt of the response body
	// RetryAfter is the wait the server asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// ServerDate is the response's Date header; Local is our clock when the
	// response arrived. Together they reveal clock skew.
	ServerDate time.Time
	Local      time.Time
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Skew returns how far the server's clock is ahead of ours (negative when
// behind), and false when the response carried no usable Date.
func (e *StatusError) Skew() (time.Duration, bool) {
	if e.ServerDate.IsZero() || e.Local.IsZero() {
		return 0, false
	}
	return e.ServerDate.Sub(e.Local), true
}

// ProxyError is a refusal by the forward proxy to open a tunnel (CONNECT
// answered with something other than 200), e.g. 407 when the proxy needs
// credentials.
type ProxyError struct {
	Proxy  string // proxy URL with the password redacted
	Status int
	Text   string
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("proxy %s refused the tunnel: %d %s", e.Proxy, e.Status, e.Text)
}

// RetryableStatus reports whether an HTTP status concerns the target or the
// moment rather than the batch, so the same batch may succeed later.
// 2xx is not an error and not covered here.
func RetryableStatus(status int) bool {
	switch {
	case status >= 500, status < 400:
		return true
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, // fix the credentials, then it ships
		http.StatusNotFound, http.StatusMethodNotAllowed, // wrong URL or bucket: a target setting
		http.StatusProxyAuthRequired,
		http.StatusRequestTimeout,
		http.StatusConflict, // concurrent conditional writes (S3 ConditionalRequestConflict)
		http.StatusMisdirectedRequest,
		http.StatusLocked,
		http.StatusTooEarly,
		http.StatusTooManyRequests:
		return true
	}
	return false
}

// maxBodyExcerpt bounds the response body kept in errors and dead-letter records.
const maxBodyExcerpt = 4 << 10

// HTTPStatusError builds the error for a non-2xx HTTP response: a retryable
// *StatusError, or a *PermanentError wrapping it when RetryableStatus says the
// batch itself was refused. body is the (already bounded) response body.
func HTTPStatusError(op string, resp *http.Response, body []byte, now time.Time) error {
	se := &StatusError{
		Op:      op,
		Status:  resp.StatusCode,
		Message: BodyExcerpt(body),
		Local:   now,
	}
	se.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		se.ServerDate = d
	}
	if RetryableStatus(resp.StatusCode) {
		return se
	}
	return Permanent(se)
}

// BodyExcerpt returns at most 4 KiB of a response body as printable text,
// for error messages and dead-letter records.
func BodyExcerpt(body []byte) string {
	if len(body) > maxBodyExcerpt {
		body = body[:maxBodyExcerpt]
	}
	s := strings.ToValidUTF8(string(body), "?")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r >= ' ' && r != 0x7f {
			return r
		}
		return ' '
	}, s)
	return strings.TrimSpace(s)
}

// maxRetryAfter bounds a server's Retry-After so a bogus value cannot park a
// target for days.
const maxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header (delay-seconds or HTTP date).
// It returns 0 when absent or invalid, and at most one hour.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// RetryAfter returns the wait a target asked for in err, 0 if none.
func RetryAfter(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}
