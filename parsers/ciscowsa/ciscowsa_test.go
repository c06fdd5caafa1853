package ciscowsa

import (
	"testing"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "cisco-wsa") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "cisco-wsa") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "cisco-wsa") }
