# NFR build. `make` builds every binary into bin/ with the version injected.
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X github.com/nfr-project/nfr/pkg/cli.Version=$(VERSION)

CMDS := $(notdir $(wildcard cmd/nfr-*))
BINS := $(addprefix bin/,$(CMDS))

.PHONY: all build test demo install lint bench eval fuzz clean $(BINS)

all: build

build: $(BINS)

$(BINS): bin/%:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

# The README's test command. Unit, reference and end-to-end tests; the
# end-to-end tests build the binaries themselves.
test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# The README's first command: nfr read on a bundled capture.
demo: build
	PATH="$(CURDIR)/bin:$$PATH" scripts/nfr read testdata/demo.pcap

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)/etc/nfr
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	sed "s/@VERSION@/$(VERSION)/" scripts/nfr > $(DESTDIR)$(PREFIX)/bin/nfr && chmod 0755 $(DESTDIR)$(PREFIX)/bin/nfr
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	test -e $(DESTDIR)/etc/nfr/config.yml || install -m 0600 config.yml $(DESTDIR)/etc/nfr/config.yml
	test -e $(DESTDIR)/etc/nfr/scope.yml || install -m 0644 scope.yml $(DESTDIR)/etc/nfr/scope.yml

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	shellcheck -x scripts/nfr scripts/*.sh scripts/bench/*.sh scripts/bench/lib.bash .ci/run
	mandoc -Tlint -Wwarning man/*.1 man/*.5

# Whole programs side by side with the tools users would otherwise pick.
bench: build
	@for s in scripts/bench/*.sh; do echo "== $$s"; bash $$s || exit 1; done

# nfr-score against the labelled real datasets (pkg/score/testdata/labels.tsv),
# the genthreats variants and the benign chores: behaviour x variant detected
# or not, false alarms per 10,000 benign events.
eval:
	@$(GO) test -count=1 -run '^(TestLabelledData|TestEval)$$' -v ./pkg/score | sed -n 's/^ *[a-z_]*_test.go:[0-9]*: eval: //p'

# Go benchmarks of the hot paths.
gobench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZTIME ?= 30s
fuzz:
	@for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "== $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
