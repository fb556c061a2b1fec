#!/usr/bin/env bash
# nfr-submit into nfr-engine over loopback, both ours and real: starts a
# fresh nfr-engine (sync=full, the default), makes a key, and runs
# submit.sh against it, so the figures are the whole client-to-server path
# with the spool on. Run from the repository root after `make build`.
set -euo pipefail

BIN=${BIN:-bin}
for b in nfr-engine nfr-submit; do
	[ -x "$BIN/$b" ] || { echo "submit-engine.sh: $BIN/$b missing; run make build" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfr-bench-engine.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

key=$("$BIN/nfr-engine" --db "$tmp/engine.db" keys add bench 2>/dev/null)
"$BIN/nfr-engine" --db "$tmp/engine.db" --listen 127.0.0.1:0 2>"$tmp/log" &
pid=$!
url=
for _ in $(seq 200); do
	url=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$tmp/log")
	[ -n "$url" ] && break
	sleep 0.05
done
[ -n "$url" ] || { echo "submit-engine.sh: nfr-engine did not start:" >&2; cat "$tmp/log" >&2; exit 1; }
echo "nfr-engine (sync=full, built-in scorer) at $url"
NFR_BENCH_URL=$url NFR_API_KEY=$key N=${N:-500000} bash "$(dirname "$0")/submit.sh"
