# The two commands a newcomer needs:
#   make run    build the web UI if needed, then start cspm on embedded SQLite
#   make test   every test: lint, Go tests (SQLite, and PostgreSQL/Redis when
#               CSPM_TEST_POSTGRES_URL/CSPM_TEST_REDIS_URL are set), front-end
#               tests and browser tests
GO            ?= go
MODULE        := github.com/offloadsecurity/cspm
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS       := -s -w -X $(MODULE)/internal/version.Version=$(VERSION) -X $(MODULE)/internal/version.Commit=$(COMMIT)
GOLANGCI_VER  := v2.15.0
GOBIN         := $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN)/golangci-lint
WEB_SOURCES   := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/postcss.config.cjs

.PHONY: run build test test-go test-web lint ui openapi bench fuzz clean

run: ui
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/cspm serve

build: ui
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/cspm ./cmd/cspm

ui: web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run gen:api && npm run build

# Regenerate the OpenAPI snapshot the front end's types are built from, and
# the Go client generated from it (e2e/apiclient).
openapi:
	$(GO) test ./internal/app -run TestOpenAPISnapshot -count=1 -update
	cd web && npm run gen:api
	$(GO) generate ./e2e/apiclient

test: ui lint test-web test-go

test-go:
	$(GO) test -race -count=1 -timeout 20m ./...

test-web: web/node_modules/.package-lock.json
	cd web && npm test

# Run every fuzz target for FUZZ_EXECS inputs each (the seed corpora also
# run in make test). A count, not a duration: with -fuzztime as a duration,
# Go 1.26 here ran a handful of inputs in 20 s and then reported 0/sec,
# while a count runs 40,000-900,000 inputs a second.
FUZZ_EXECS ?= 200000
fuzz:
	@set -e; for pkg in ./internal/ingest ./internal/findings; do \
	  for target in $$($(GO) test $$pkg -list '^Fuzz' | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZ_EXECS)x; \
	  done; \
	done

$(GOLANGCI_LINT):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

lint: $(GOLANGCI_LINT)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	cd web && npx tsc -b

bench: build
	bash bench/startup.sh

clean:
	rm -rf bin web/dist/assets web/dist/index.html
