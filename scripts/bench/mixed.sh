#!/usr/bin/env bash
# Whole-program benchmark of nfr-capture with every event type on (dns, ip,
# http, tls) over a mixed capture, against tshark extracting comparable
# fields. Run from the repository root after `make build`:
#   bash scripts/bench/mixed.sh             (1,000,000 packets)
#   PACKETS=3000000 bash scripts/bench/mixed.sh
set -euo pipefail

packets=${PACKETS:-1000000}
dir=testdata/bench
file=$dir/mixed-$packets.pcap
bin=bin/nfr-capture

[ -x "$bin" ] || { echo "mixed.sh: $bin missing: run make build first" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -s "$file" ]; then
	echo "generating $file ($packets packets)"
	go run ./scripts/genmixed -o "$file" -n "$packets"
fi
# shellcheck source=scripts/bench/lib.bash
. "$(dirname "$0")/lib.bash"
n=$(capinfos -c -M "$file" 2>/dev/null | awk '/Number of packets/ {print $NF}')
n=${n:-$packets}
rate() { awk -v n="$n" -v s="$1" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", n / s }'; }

echo "mixed: $file, $n packets; load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
measure_median "$bin" -r "$file"
nfr_rate=$(rate "$secs") nfr_rss=$rss_kb
printf '%-34s %8.2f s %10s packets/s %6d MB peak RSS %6s CPU s  (median of runs: %ss)\n' "nfr-capture (dns,ip,http,tls)" "$secs" "$nfr_rate" $((rss_kb / 1024)) "$cpu" "$runs"
events=$("$bin" -r "$file" | wc -l)
echo "  $events events"

if command -v tshark >/dev/null; then
	measure tshark -r "$file" -q -z conv,tcp -z conv,udp
	conv_rate=$(rate "$secs")
	printf '%-34s %8.2f s %10s packets/s %6d MB peak RSS %6s CPU s\n' "tshark -z conv,tcp -z conv,udp" "$secs" "$conv_rate" $((rss_kb / 1024)) "$cpu"
	measure tshark -r "$file" -Y 'http.request or tls.handshake.type == 1' -T fields -e frame.time_epoch \
		-e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e http.host -e http.request.uri \
		-e http.user_agent -e tls.handshake.extensions_server_name -e tls.handshake.ja3
	fields_rate=$(rate "$secs")
	printf '%-34s %8.2f s %10s packets/s %6d MB peak RSS %6s CPU s\n' "tshark -T fields (http, tls)" "$secs" "$fields_rate" $((rss_kb / 1024)) "$cpu"
	awk -v a="$nfr_rate" -v b="$conv_rate" -v c="$fields_rate" \
		'BEGIN { printf "ratio                              nfr-capture is %.1fx tshark conversations, %.1fx tshark fields\n", a / b, a / c }'
else
	echo "tshark not installed: no comparison"
fi
awk -v r="$nfr_rate" -v m="$nfr_rss" 'BEGIN {
	printf "target                             1000000 packets/s and < 256 MB: %s, %s\n", (r >= 1000000 ? "met" : "NOT met"), (m < 262144 ? "met" : "NOT met") }'
