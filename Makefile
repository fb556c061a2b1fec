# NFR build. `make` builds every binary into bin/ with the version injected.
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
SYSTEMDDIR    ?= /lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
LDFLAGS := -s -w -X github.com/nfr-project/nfr/pkg/cli.Version=$(VERSION)

CMDS := $(notdir $(wildcard cmd/nfr-*))
BINS := $(addprefix bin/,$(CMDS))

.PHONY: all build test demo install lint bench eval fuzz clean deb rpm pkg-stage $(BINS)

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
	test -e $(DESTDIR)/etc/nfr/config.yml || { sed -f scripts/installed-config.sed config.yml > $(DESTDIR)/etc/nfr/config.yml && chmod 0600 $(DESTDIR)/etc/nfr/config.yml; }
	test -e $(DESTDIR)/etc/nfr/scope.yml || install -m 0644 scope.yml $(DESTDIR)/etc/nfr/scope.yml
	install -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(PREFIX)/libexec/nfr $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)/etc/logrotate.d
	sed 's|/usr/|$(PREFIX)/|g' scripts/systemd/nfr-listen.service > $(DESTDIR)$(SYSTEMDDIR)/nfr-listen.service
	sed 's|/usr/|$(PREFIX)/|g' scripts/systemd/nfr-listen@.service > $(DESTDIR)$(SYSTEMDDIR)/nfr-listen@.service
	sed 's|/usr/|$(PREFIX)/|g' scripts/systemd/nfr-engine.service > $(DESTDIR)$(SYSTEMDDIR)/nfr-engine.service
	sed 's|/usr/|$(PREFIX)/|g' scripts/systemd/nfr-logs.service > $(DESTDIR)$(SYSTEMDDIR)/nfr-logs.service
	install -m 0644 scripts/systemd/nfr-logs.timer $(DESTDIR)$(SYSTEMDDIR)/
	install -m 0755 scripts/systemd/nfr-logs $(DESTDIR)$(PREFIX)/libexec/nfr/nfr-logs
	install -m 0644 scripts/logrotate.nfr $(DESTDIR)/etc/logrotate.d/nfr
	for c in nfr $(CMDS); do install -m 0644 scripts/completion/nfr.bash $(DESTDIR)$(COMPLETIONDIR)/$$c; done

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	shellcheck -x scripts/nfr scripts/systemd/nfr-logs scripts/*.sh scripts/bench/*.sh scripts/bench/lib.bash .ci/run
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

# Packages through nfpm (a Go tool dependency: go tool nfpm). build/pkg/ is
# the staged tree packaging/nfpm.yaml takes its files from.
PKGVERSION ?= $(shell echo '$(VERSION)' | sed -e 's/^v//' -e '/^[0-9][0-9]*\.[0-9]/!s/^/0.0.0~git/' -e 's/-/~/g')
PKGARCH    ?= $(shell $(GO) env GOARCH)
MAN1 := $(wildcard man/*.1)

# Packaged programs are position-independent (and so dynamically linked, as
# Debian wants of hardened binaries).
pkg-stage:
	rm -rf build/pkg
	mkdir -p build/pkg/bin build/pkg/man/man1 build/pkg/man/man5 build/pkg/completions build/pkg/systemd build/pkg/libexec build/pkg/doc
	$(GO) build -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o build/pkg/bin/ ./cmd/...
	sed "s/@VERSION@/$(VERSION)/" scripts/nfr > build/pkg/bin/nfr && chmod 0755 build/pkg/bin/nfr
	for m in $(MAN1); do gzip -9n < $$m > build/pkg/man/man1/$$(basename $$m).gz; done
	for m in man/*.5; do gzip -9n < $$m > build/pkg/man/man5/$$(basename $$m).gz; done
	for c in nfr $(CMDS); do install -m 0644 scripts/completion/nfr.bash build/pkg/completions/$$c; done
	install -m 0644 scripts/systemd/*.service scripts/systemd/*.timer build/pkg/systemd/
	install -m 0755 scripts/systemd/nfr-logs build/pkg/libexec/nfr-logs
	sed -f scripts/installed-config.sed config.yml > build/pkg/config.yml
	install -m 0644 packaging/copyright build/pkg/doc/copyright
	printf 'nfr (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- NFR project <nfr@nfr-project.org>  %s\n' \
	  '$(PKGVERSION)' '$(VERSION)' "$$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" | gzip -9n > build/pkg/doc/changelog.gz

deb: pkg-stage
	VERSION='$(PKGVERSION)' ARCH='$(PKGARCH)' $(GO) tool nfpm package -f packaging/nfpm.yaml -p deb -t build/

rpm: pkg-stage
	VERSION='$(PKGVERSION)' ARCH='$(PKGARCH)' $(GO) tool nfpm package -f packaging/nfpm.yaml -p rpm -t build/

clean:
	rm -rf bin build
