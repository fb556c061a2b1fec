#!/usr/bin/env bash
# Whole-program benchmark of issue 11: nfr-capture with every event type on
# (dns, ip with service, http, tls, ssh) over a capture where half the
# packets are short TCP connections from many clients (handshake, one HTTP
# request or TLS ClientHello, a response, FIN) and half DNS, against tshark
# printing the same DNS, HTTP and TLS fields (-T fields, with JA3). Run from
# the repository root after `make build`:
#   bash scripts/bench/short.sh             (1,000,000 packets)
#   PACKETS=3000000 bash scripts/bench/short.sh
set -euo pipefail

packets=${PACKETS:-1000000}
dir=testdata/bench
file=$dir/short-$packets.pcap
bin=bin/nfr-capture

[ -x "$bin" ] || { echo "short.sh: $bin missing: run make build first" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -s "$file" ]; then
	echo "generating $file ($packets packets)"
	go run ./scripts/genmixed -short -o "$file" -n "$packets"
fi
# shellcheck source=scripts/bench/lib.bash
. "$(dirname "$0")/lib.bash"
rate() { awk -v n="$packets" -v s="$1" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", n / s }'; }

echo "short connections and DNS: $file, $packets packets; load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "(wall-clock rates suffer on a loaded machine; the CPU-second ratio is printed too)"
measure_median "$bin" -r "$file"
nfr_rate=$(rate "$secs") nfr_rss=$rss_kb nfr_cpu=$cpu
printf '%-36s %8.2f s %10s packets/s %6d MB peak RSS %6s CPU s  (median of runs: %ss)\n' "nfr-capture (dns,ip,http,tls,ssh)" "$secs" "$nfr_rate" $((rss_kb / 1024)) "$cpu" "$runs"

if command -v tshark >/dev/null; then
	measure tshark -r "$file" -T fields -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport \
		-e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport -e dns.qry.name -e dns.qry.type -e dns.flags.rcode \
		-e dns.a -e dns.resp.ttl -e http.host -e http.request.uri -e http.user_agent -e http.response.code \
		-e tls.handshake.extensions_server_name -e tls.handshake.ja3
	ts_rate=$(rate "$secs") ts_cpu=$cpu
	printf '%-36s %8.2f s %10s packets/s %6d MB peak RSS %6s CPU s\n' "tshark -T fields (dns, http, tls, ja3)" "$secs" "$ts_rate" $((rss_kb / 1024)) "$cpu"
	awk -v a="$nfr_rate" -v b="$ts_rate" -v c="$nfr_cpu" -v d="$ts_cpu" 'BEGIN {
		printf "ratio                                nfr-capture is %.1fx tshark (wall clock), %.1fx (CPU seconds)\n", a / b, (c > 0 ? d / c : 0)
		printf "target                               30x: %s\n", (a / b >= 30 ? "met" : "NOT met") }'
else
	echo "tshark not installed: no comparison"
fi
awk -v m="$nfr_rss" 'BEGIN { printf "target                               < 256 MB peak RSS: %s\n", (m < 262144 ? "met" : "NOT met") }'
