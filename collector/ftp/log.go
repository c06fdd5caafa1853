package ftp

import (
	golog "github.com/fclairamb/go-log"
	"github.com/rs/zerolog"
)

// libLogger adapts zerolog to the FTP library's logger. The library is chatty
// and logs expected events (closed listeners, client resets) as errors, so its
// levels are shifted down one step.
type libLogger struct {
	l zerolog.Logger
}

var _ golog.Logger = libLogger{}

func (g libLogger) Debug(event string, kv ...any) { g.l.Trace().Fields(kv).Msg(event) }
func (g libLogger) Info(event string, kv ...any)  { g.l.Debug().Fields(kv).Msg(event) }
func (g libLogger) Warn(event string, kv ...any)  { g.l.Debug().Fields(kv).Msg(event) }
func (g libLogger) Error(event string, kv ...any) { g.l.Info().Fields(kv).Msg(event) }
func (g libLogger) Panic(event string, kv ...any) { g.l.Error().Fields(kv).Msg(event) }

func (g libLogger) With(kv ...any) golog.Logger {
	return libLogger{l: g.l.With().Fields(kv).Logger()}
}
