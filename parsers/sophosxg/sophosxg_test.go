package sophosxg

import (
	"testing"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "sophos-xg") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "sophos-xg") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "sophos-xg") }
