#!/usr/bin/env bash
# Page times of the nfr-engine console over loopback, signed in, on a
# database holding ALERTS (default 1,000,000) alerts of one account: the Go
# benchmark BenchmarkConsolePages of pkg/server, five loads of each page.
# Target: every page under 200 ms. Run from the repository root.
set -euo pipefail

alerts=${ALERTS:-1000000}
target=200

out=$(NFR_CONSOLE_ALERTS=$alerts go test -count=1 -run '^$' -bench BenchmarkConsolePages \
	-benchtime 5x -timeout 30m -v ./pkg/server/ 2>&1) || { echo "$out" >&2; exit 1; }
echo "console: $alerts alerts, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
sed -n 's/^ *console_bench_test.go:[0-9]*: /console: /p' <<<"$out"
worst=0
while read -r page ms; do
	page=$(printf '%b' "${page//%/\\x}")
	printf 'console: %-58s %8.1f ms  (target %d ms: %sx)\n' "$page" "$ms" "$target" \
		"$(awk -v t="$target" -v m="$ms" 'BEGIN { printf "%.1f", t / (m > 0 ? m : 0.1) }')"
	worst=$(awk -v a="$worst" -v b="$ms" 'BEGIN { print (b > a ? b : a) }')
done < <(awk '/ms\/page/ { n = $1; sub(/^BenchmarkConsolePages\//, "", n); sub(/-[0-9]+$/, "", n); print n, $(NF - 1) }' <<<"$out")
if awk -v w="$worst" -v t="$target" 'BEGIN { exit !(w < t) }'; then
	echo "console: slowest page $worst ms: target $target ms met"
else
	echo "console: slowest page $worst ms: target $target ms missed"
fi
