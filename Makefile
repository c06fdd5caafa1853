# CloudScout. 'make run' starts the collector on its defaults; 'make test' runs
# every test (as CI does). Go comes from the machine (go version).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := dist/cloudscout

.PHONY: all build run test test-short lint fuzz bench image container-test clean deps

all: build

# urfave_cli_no_docs leaves out the CLI's man/markdown generators (300 KB of image).
build:
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/cloudscout

run: build
	./$(BIN) run $(if $(CONFIG),--config $(CONFIG))

# Installs the real clients the tests drive (logger, rsyslog, curl, lftp, tinyproxy).
deps:
	./scripts/install-test-deps.sh

test: deps build
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...
	cd third_party/urfave-cli-v2 && $(GO) test -tags urfave_cli_no_docs ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Long fuzzing of every parser and the framer: FUZZTIME per target.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./... ); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Loopback benchmarks of the whole pipeline against rsyslog (about 15 minutes;
# BENCH_QUICK=1 for about 2). Results in bench/out/ (report.txt, results.json, throughput.svg).
bench: build
	$(GO) run ./bench -bin $(BIN) -out bench/out $(if $(BENCH_QUICK),-quick)

# Container image from the host-built binary (no registry needed; see README "Container").
image: build
	cp /etc/ssl/certs/ca-certificates.crt "$$($(GO) env GOROOT)/lib/time/zoneinfo.zip" dist/
	buildah bud --isolation chroot --format docker --build-arg BINARY_FROM=prebuilt --build-arg VERSION=$(VERSION) -t localhost/cloudscout:$(VERSION) .

# Builds the image with buildah and runs docker-compose.yml under podman-compose end to end (root).
container-test:
	./scripts/container-e2e.sh

clean:
	rm -rf dist
