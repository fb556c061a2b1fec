#!/usr/bin/env bash
# nfr-submit: sustained events per second into an analytics API server over
# loopback with the spool on, for each fsync policy, beside what a user would
# otherwise do (split the events into batches and POST each with curl, with
# no spool and no retries). Run from the repository root after `make build`.
#
# The server is nfr-engine when NFR_BENCH_URL names a running one (with
# NFR_API_KEY set to a key it knows); otherwise internal/faultserver's
# faultserverd --discard, a fast server that counts what it accepts.
# N sets the number of events (default 500000).
set -euo pipefail

N=${N:-500000}
BIN=${BIN:-bin}
[ -x "$BIN/nfr-submit" ] || { echo "submit.sh: $BIN/nfr-submit missing; run make build" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfr-bench-submit.XXXXXX")
srv_pid=
cleanup() {
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

url=${NFR_BENCH_URL:-}
key=${NFR_API_KEY:-bench-key}
server="nfr-engine at $url"
if [ -z "$url" ]; then
	go build -o "$tmp/faultserverd" ./internal/faultserver/faultserverd
	"$tmp/faultserverd" --discard >"$tmp/url" &
	srv_pid=$!
	for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
	url=$(head -1 "$tmp/url")
	server="faultserverd --discard (internal/faultserver) at $url"
fi

awk -v n="$N" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"type\":\"dns\",\"v\":1,\"ts\":\"2026-11-27T07:00:00.123456Z\",\"srcIP\":\"10.0.%d.%d\",\"srcPort\":%d,\"destIP\":\"192.0.2.53\",\"destPort\":53,\"proto\":\"udp\",\"query\":\"host%d.example.com\",\"qtype\":\"A\"}\n", i % 256, int(i / 256) % 256, 1024 + i % 60000, i
}' >"$tmp/events.json"
size=$(wc -c <"$tmp/events.json")
echo "input: $N dns events, $((size / 1048576)) MiB; server: $server; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# measure LABEL CMD...: runs CMD, prints seconds and peak RSS.
measure() {
	local label=$1
	shift
	local start end secs rss=""
	start=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$tmp/time" "$@"
		rss=$(tail -1 "$tmp/time")
	else
		"$@"
	fi
	end=$(date +%s.%N)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
	printf '%-44s %8.2f s %10.0f events/s' "$label" "$secs" "$(awk -v n="$N" -v s="$secs" 'BEGIN { print n / s }')"
	[ -z "$rss" ] && echo || echo "   peak RSS $((rss / 1024)) MiB"
	echo "$secs" >"$tmp/secs"
}

# Commands run by /usr/bin/time are scripts, not functions.
cat >"$tmp/submit" <<SH
#!/usr/bin/env bash
set -e
cat >"$tmp/config.yml" <<YML
alphasoc:
  host: $url
  api_key: $key
submit:
  spool: $tmp/spool
  fsync: \$1
YML
chmod 600 "$tmp/config.yml"
rm -rf "$tmp/spool"
exec env NFR_API_KEY='' "$BIN/nfr-submit" -c "$tmp/config.yml" --no-alerts <"$tmp/events.json"
SH
cat >"$tmp/curl" <<SH
#!/usr/bin/env bash
exec split -l 5000 --filter "curl -sf -u '$key:' -H 'Content-Type: application/x-ndjson' --data-binary @- '$url/v1/events/dns' >/dev/null" "$tmp/events.json"
SH
chmod +x "$tmp/submit" "$tmp/curl"

for policy in batch never always; do
	measure "nfr-submit, spool fsync=$policy" "$tmp/submit" "$policy"
	[ "$policy" = batch ] && ours=$(cat "$tmp/secs")
done

if command -v curl >/dev/null; then
	measure "split -l 5000 | curl per batch (no spool)" "$tmp/curl"
	theirs=$(cat "$tmp/secs")
	printf 'ratio (curl time / nfr-submit fsync=batch time): %.2f\n' "$(awk -v a="$theirs" -v b="$ours" 'BEGIN { print a / b }')"
else
	echo "curl not installed: no comparison"
fi
