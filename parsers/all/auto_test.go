package all_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudscout/cloudscout/parsers"
	_ "github.com/cloudscout/cloudscout/parsers/all"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

// Every format's test data parsed with format auto must give the same
// records as with the format named: auto-detection is how one port takes
// several device types.
func TestAutoMatchesNamedFormat(t *testing.T) {
	for _, info := range parsers.List() {
		if info.Name == parsers.AutoName {
			continue
		}
		files := parsertest.Files(t, info.Name)
		if len(files) == 0 {
			t.Errorf("format %s has no test data", info.Name)
			continue
		}
		same, total := 0, 0
		var bad []string
		for _, f := range files {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			named := bytes.Split(parsertest.Render(t, info.Name, in, nil, parsertest.DefaultNow), []byte("\n"))
			auto := bytes.Split(parsertest.Render(t, parsers.AutoName, in, nil, parsertest.DefaultNow), []byte("\n"))
			for i := range named {
				// Only records count: a named parser's skip or error line may
				// legitimately be claimed by nothing under auto.
				if len(named[i]) == 0 || bytes.Contains(named[i], []byte(`"_skipped"`)) || bytes.Contains(named[i], []byte(`"_error"`)) {
					continue
				}
				total++
				if i < len(auto) && bytes.Equal(named[i], auto[i]) {
					same++
				} else if len(bad) < 3 {
					got := ""
					if i < len(auto) {
						got = string(auto[i])
					}
					bad = append(bad, filepath.Base(f)+": "+trim(got))
				}
			}
		}
		if total == 0 {
			continue
		}
		share := float64(same) / float64(total)
		t.Logf("%-12s auto = named for %d/%d records (%.0f%%)", info.Name, same, total, 100*share)
		if share < 0.9 { // test data includes deliberately damaged lines
			t.Errorf("%s: auto-detection agrees on only %d/%d records; e.g.\n  %s", info.Name, same, total, strings.Join(bad, "\n  "))
		}
	}
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
