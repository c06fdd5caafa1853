package zscaler

import (
	"testing"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "zscaler") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "zscaler") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "zscaler") }
