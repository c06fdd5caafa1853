package sophosutm

import (
	"testing"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "sophos-utm") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "sophos-utm") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "sophos-utm") }
