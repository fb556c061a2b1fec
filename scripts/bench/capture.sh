#!/usr/bin/env bash
# Whole-program benchmark of nfr-capture against tshark on the same capture
# of synthetic DNS traffic. Run from the repository root after `make build`:
#   bash scripts/bench/capture.sh            (1,000,000 packets)
#   PACKETS=5000000 bash scripts/bench/capture.sh
# Prints packets per second and peak RSS of each tool, and the ratio;
# nfr-capture runs BENCH_RUNS times (default 3) and the median counts.
set -euo pipefail

packets=${PACKETS:-1000000}
dir=testdata/bench
file=$dir/dns-$packets.pcap
bin=bin/nfr-capture

[ -x "$bin" ] || { echo "capture.sh: $bin missing: run make build first" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -s "$file" ]; then
	echo "generating $file ($packets packets)"
	go run ./scripts/gendns -o "$file" -n "$packets"
fi

# shellcheck source=scripts/bench/lib.bash
. "$(dirname "$0")/lib.bash"

rate() { awk -v n="$packets" -v s="$1" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", n / s }'; }

echo "capture: $file, $packets packets; load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "(wall-clock rates suffer on a loaded machine; CPU seconds do less)"

measure_median "$bin" -t dns -r "$file"
nfr_secs=$secs nfr_rss=$rss_kb
nfr_rate=$(rate "$nfr_secs")
printf '%-12s %8.2f s %12s packets/s %8d MB peak RSS %8s CPU s  (median of runs: %ss)\n' nfr-capture "$nfr_secs" "$nfr_rate" $((nfr_rss / 1024)) "$cpu" "$runs"

# Memory must not grow with the input: a capture three times as long.
big=$dir/dns-$((3 * packets)).pcap
if [ ! -s "$big" ]; then
	echo "generating $big ($((3 * packets)) packets)"
	go run ./scripts/gendns -o "$big" -n $((3 * packets))
fi
measure "$bin" -t dns -r "$big"
printf '%-12s %8.2f s %12s packets/s %8d MB peak RSS %8s CPU s  (%s packets)\n' nfr-capture "$secs" "$(rate "$(awk -v s="$secs" 'BEGIN { print s / 3 }')")" $((rss_kb / 1024)) "$cpu" $((3 * packets))
nfr_rss=$((rss_kb > nfr_rss ? rss_kb : nfr_rss))

if command -v tshark >/dev/null; then
	measure tshark -r "$file" -T fields -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport \
		-e ip.dst -e ipv6.dst -e udp.dstport -e dns.qry.name -e dns.qry.type -e dns.flags.rcode \
		-e dns.a -e dns.resp.ttl
	ts_secs=$secs ts_rss=$rss_kb
	ts_rate=$(rate "$ts_secs")
	printf '%-12s %8.2f s %12s packets/s %8d MB peak RSS %8s CPU s\n' tshark "$ts_secs" "$ts_rate" $((ts_rss / 1024)) "$cpu"
	awk -v a="$nfr_rate" -v b="$ts_rate" 'BEGIN { printf "ratio        nfr-capture is %.1fx tshark\n", a / b }'
else
	echo "tshark not installed: no comparison"
fi
awk -v r="$nfr_rate" -v m="$nfr_rss" 'BEGIN {
	printf "target       2000000 packets/s and < 100 MB: %s, %s\n", (r >= 2000000 ? "met" : "NOT met"), (m < 102400 ? "met" : "NOT met") }'
