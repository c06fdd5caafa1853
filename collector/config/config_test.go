package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/cloudscout/cloudscout/parsers/all"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cloudscout.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValidate(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ls := c.Listeners()
	if len(ls) != 2 || ls[0].Key() != "tcp://0.0.0.0:5514" || ls[1].Key() != "udp://0.0.0.0:5514" {
		t.Fatalf("listeners %+v", ls)
	}
	if c.Upload.Targets[0].URL != "file://./data/outbox" {
		t.Fatalf("target %+v", c.Upload.Targets)
	}
}

func TestFileOverridesDefaults(t *testing.T) {
	c, err := Load(write(t, `
collector:
  name: edge-01
spool:
  quota: 2GiB
sources:
  - name: fw-hq
    format: auto
    timezone: Europe/Berlin
    listen: [udp://:1514]
    allowed: [10.0.0.0/8, 192.0.2.7]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Collector.Name != "edge-01" || c.Collector.DataDir != "./data" || c.Spool.Quota != 2<<30 || c.Spool.Compression != "zstd" {
		t.Fatalf("merge: %+v %+v", c.Collector, c.Spool)
	}
	if len(c.Sources) != 1 || c.Sources[0].Location().String() != "Europe/Berlin" {
		t.Fatalf("sources %+v", c.Sources)
	}
	s := &c.Sources[0]
	if !s.Allows(netip.MustParseAddr("10.2.3.4")) || !s.Allows(netip.MustParseAddr("192.0.2.7")) || s.Allows(netip.MustParseAddr("192.0.2.8")) {
		t.Fatal("allowed CIDRs")
	}
	if len(c.Upload.Targets) != 1 {
		t.Fatal("default target lost")
	}
}

func TestUnknownKeyIsError(t *testing.T) {
	_, err := Load(write(t, "collector:\n  nmae: x\n"))
	if err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("err = %v", err)
	}
}

func TestTwoSourcesOnePort(t *testing.T) {
	c, err := Load(write(t, `
sources:
  - name: a
    format: auto
    listen: [tcp://:6000]
  - name: b
    format: auto
    listen: [tcp://0.0.0.0:6000]
`))
	if err != nil {
		t.Fatal(err)
	}
	// ":6000" and "0.0.0.0:6000" are different strings but one port.
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "6000") {
		t.Fatalf("err = %v", err)
	}
	c, _ = Load(write(t, `
sources:
  - name: a
    format: auto
    listen: [tcp://:6000]
    allowed: [10.1.0.0/16]
  - name: b
    format: auto
    listen: [tcp://:6000]
    allowed: [10.2.0.0/16]
`))
	if err := c.Validate(); err != nil {
		t.Fatalf("disjoint senders on one port: %v", err)
	}
	if len(c.Listeners()) != 1 || len(c.Listeners()[0].Sources) != 2 {
		t.Fatalf("listeners %+v", c.Listeners())
	}
	c, _ = Load(write(t, `
sources:
  - name: a
    format: auto
    listen: [tcp://:6000]
    allowed: [10.0.0.0/8]
  - name: b
    format: auto
    listen: [tcp://:6000]
    allowed: [10.2.0.0/16]
`))
	if err := c.Validate(); err == nil {
		t.Fatal("overlapping sender ranges on one port accepted")
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c, err := Load(write(t, `
spool:
  compression: lz4
sources:
  - name: bad name
    format: nosuchformat
    timezone: Mars/Olympus
    listen: [sctp://:1, udp://:99999]
    allowed: [not-a-cidr]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"lz4", "bad name", "nosuchformat", "Mars/Olympus", "sctp", "99999", "not-a-cidr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	c, _ := Default()
	env := map[string]string{"CLOUDSCOUT_DATA_DIR": "/var/lib/cs", "CLOUDSCOUT_UPLOAD_URL": "https://ingest.example.com/logs", "CLOUDSCOUT_SPOOL_QUOTA": "20GiB"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Collector.DataDir != "/var/lib/cs" || c.Upload.Targets[0].URL != "https://ingest.example.com/logs" || c.Spool.Quota != 20<<30 {
		t.Fatalf("%+v %+v", c.Collector, c.Upload.Targets)
	}
	env = map[string]string{"CLOUDSCOUT_SPOOL_QUOTA": "lots"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("bad size accepted")
	}
}

func TestCustomParserFormat(t *testing.T) {
	c, err := Load(write(t, `
parsers:
  - name: acme-proxy
    type: kv
    fields: {source.ip: src, url.original: url}
sources:
  - name: p
    format: acme-proxy
    listen: [tcp://:7000]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Custom("acme-proxy"); !ok {
		t.Fatal("custom spec not found")
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]Size{"512": 512, "64KiB": 64 << 10, "10GB": 10 << 30, "1.5MiB": 3 << 19, "2t": 2 << 40} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("%s → %v %v", in, got, err)
		}
	}
	if _, err := ParseSize("12 parsecs"); err == nil {
		t.Error("bad unit accepted")
	}
}
