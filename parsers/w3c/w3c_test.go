package w3c

import (
	"testing"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "w3c") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "w3c") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "w3c") }
