# ncd developer targets. `make test` is the command CI runs (.ci/run).
GO        ?= go
BIN       ?= bin/ncd
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

.PHONY: all build install test bench demo lint fmt fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ncd

## install: ncd into $(go env GOBIN), or $(go env GOPATH)/bin when GOBIN is unset
install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/ncd

## test: vet + the whole test suite under the race detector, then again on
## the narrower instruction sets (GODEBUG switches golang.org/x/sys/cpu's
## flags off, so the AVX2-only and pure-Go kernels run on this machine too;
## -count=1 because the test cache does not see GODEBUG)
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 45m ./...
	GODEBUG=cpu.avx512f=off $(GO) test -count=1 -timeout 20m ./...
	GODEBUG=cpu.avx2=off,cpu.fma=off $(GO) test -count=1 -timeout 20m ./...

## bench: quality and speed table on the bundled datasets (see README "Results")
bench: build
	$(GO) run ./internal/benchtable -bin $(BIN)

## bench-suite: the yardstick for defaults: every bundled and shared table
## with >= 5 classes, 3 seeded random choices of novel classes each, the
## default pipeline (8 networks), k estimated by every rule (silhouette 1se,
## prediction strength, stable, sizes = the default, folds = calibrated on
## hidden-class folds), ACC at k found and at the true k; validation tables
## marked (see README "Benchmark suite")
bench-suite:
	$(GO) run ./internal/benchsuite -validation -rules 1se,ps,stable,sizes,folds

## demo: the main job on bundled data: fit with novel classes hidden, then eval
demo: build
	@scripts/demo.sh $(BIN)

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt:
	gofmt -w .

## fuzz: a short run of every fuzz target (crashers land in testdata/fuzz)
fuzz:
	$(GO) test ./internal/io -run '^$$' -fuzz FuzzReadCSV -fuzztime 200000x

clean:
	rm -rf bin
