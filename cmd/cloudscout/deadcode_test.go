package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLinkerPrunesMethods guards the binary size: a reachable call of
// reflect.Value.Method or MethodByName with a name not known at compile
// time (text/template is the usual way in) makes the linker keep every
// exported method of every type stored in an interface. For this binary
// that was 7 MB of 25 (the S3 client alone keeps ~100 operations); see
// third_party/urfave-cli-v2/PATCHES.md. The linker marks such functions
// <ReflectMethod> in its dependency dump.
func TestLinkerPrunesMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("links the whole binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(gobin, "build", "-tags", "urfave_cli_no_docs", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%s", err, stderr.String())
	}
	var offenders []string
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	edges := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, " -> ") {
			edges++
		}
		if strings.Contains(line, "<ReflectMethod>") {
			offenders = append(offenders, line)
		}
	}
	if edges < 1000 {
		t.Fatalf("the linker's dependency dump has %d edges; did -dumpdep change?", edges)
	}
	if len(offenders) > 0 {
		t.Errorf("reachable reflective method calls turn off the linker's method pruning (binary +25%%):\n%s",
			strings.Join(offenders, "\n"))
	}
}
