#!/usr/bin/env bash
# Live capture: the highest replay rate at which no frame is lost, through
# AF_PACKET (pkg/afpacket, 1 and 2 fanout workers) and through libpcap.
#
# Small DNS frames are replayed by scripts/replay (an AF_PACKET TX ring;
# tcpreplay's one sendto per frame tops out far lower on a small machine)
# onto one end of a veth pair inside a network namespace made for the run,
# while scripts/livesink counts them on the other end; the rate steps up
# until frames go missing. Needs root and ip(8); says so and succeeds
# otherwise.
#
# Environment: PACKETS per step (default 1000000), RATES (pps steps),
# RING (bytes per ring, default pkg/afpacket's), NFR_TESTDATA.
set -euo pipefail

packets=${PACKETS:-1000000}
rates=${RATES:-"100000 200000 300000 400000 500000 700000 1000000"}
ring=${RING:-33554432}
ns=nfrbench-$$
tmp=$(mktemp -d)
sink_pid=

cleanup() {
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "live: skipped: needs root to create a network namespace"
	exit 0
fi
command -v ip >/dev/null || { echo "live: skipped: ip(8) not installed"; exit 0; }

# Input: small DNS frames. scripts/gendns when the tree has it, else a
# capture of real DNS queries and answers from the shared data, looped.
pcap=$tmp/dns.pcap
loop=1
if [ -d scripts/gendns ]; then
	go run ./scripts/gendns -o "$pcap" -n 100000
	loop=$(( (packets + 99999) / 100000 ))
else
	src=${NFR_TESTDATA:-../shared/testdata}/suricata/dns-eve-type-filtering/test.pcap
	[ -r "$src" ] || { echo "live: skipped: no scripts/gendns and no $src (set NFR_TESTDATA)"; exit 0; }
	cp "$src" "$pcap"
	n=$(tcpdump -nr "$pcap" 2>/dev/null | wc -l)
	loop=$(( (packets + n - 1) / n ))
fi
per_loop=$(tcpdump -nr "$pcap" 2>/dev/null | wc -l)
sent_want=$((per_loop * loop))
avg=$(( $(stat -c %s "$pcap") / per_loop - 16 ))
go build -o "$tmp/livesink" ./scripts/livesink
go build -o "$tmp/replay" ./scripts/replay

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
nsx ip link add nfrb0 type veth peer name nfrb1
nsx ip link set nfrb0 up
nsx ip link set nfrb1 up

counter() { nsx cat "/sys/class/net/$1/statistics/$2"; }

# step MODE WORKERS RATE: replay once at RATE; prints
# "requested achieved sent delivered kernel_drops veth_drops peak_kb".
step() {
	local mode=$1 workers=$2 rate=$3 ready=$tmp/ready out=$tmp/sink.json
	rm -f "$ready"
	local vdrop0 vdrop1
	vdrop0=$(( $(counter nfrb0 tx_dropped) + $(counter nfrb1 rx_dropped) ))
	# Not through nsx: ip netns exec execs the sink, so $! is the sink.
	ip netns exec "$ns" "$tmp/livesink" -m "$mode" -w "$workers" -ring "$ring" -i nfrb1 -ready "$ready" >"$out" &
	sink_pid=$!
	for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
	local pps=$rate log
	[ "$rate" = max ] && pps=0
	log=$(nsx "$tmp/replay" -i nfrb0 -pps "$pps" -loop "$loop" "$pcap")
	sleep 0.5
	kill -INT "$sink_pid"
	wait "$sink_pid" || true
	sink_pid=
	vdrop1=$(( $(counter nfrb0 tx_dropped) + $(counter nfrb1 rx_dropped) ))
	local achieved sent
	achieved=$(sed -n 's/.*"pps":\([0-9]*\).*/\1/p' <<<"$log")
	sent=$(sed -n 's/.*"sent":\([0-9]*\).*/\1/p' <<<"$log")
	local delivered dropped peak
	delivered=$(sed -n 's/.*"delivered":\([0-9]*\).*/\1/p' "$out")
	dropped=$(sed -n 's/.*"dropped":\([0-9]*\).*/\1/p' "$out")
	peak=$(sed -n 's/.*"peakRSSKB":\([0-9]*\).*/\1/p' "$out")
	echo "$rate ${achieved:-0} ${sent:-0} ${delivered:-0} ${dropped:-0} $((vdrop1 - vdrop0)) ${peak:-0}"
}

echo "live: $sent_want frames of ${avg} bytes on average per step over a veth pair; ring/buffer $((ring >> 20)) MiB; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %12s %12s %10s %10s %8s %8s %8s\n' mode requested achieved sent received ringdrop vethdrop peakMB
declare -A best lost
for cfg in afpacket:1 afpacket:2 libpcap:1; do
	mode=${cfg%%:*} workers=${cfg##*:}
	label=$mode
	[ "$mode" = afpacket ] && label="afpacket/$workers"
	best[$label]=0
	lost[$label]=""
	for rate in $rates max; do
		# A loss is confirmed by a second try: on a shared machine one
		# scheduling hiccup of a few hundred milliseconds fills a ring.
		for try in 1 2; do
			read -r req ach sent got kdrop vdrop peak < <(step "$mode" "$workers" "$rate")
			printf '%-14s %12s %12s %10s %10s %8s %8s %8s\n' "$label" "$req" "$ach" "$sent" "$got" "$kdrop" "$vdrop" "$((peak / 1024))"
			[ "$sent" -gt 0 ] && [ "$got" -ge "$sent" ] && [ "$kdrop" -eq 0 ] && break
			[ "$try" = 1 ] && echo "$label: frames lost at $req pps; trying once more"
		done
		if [ "$sent" -gt 0 ] && [ "$got" -ge "$sent" ] && [ "$kdrop" -eq 0 ]; then
			[ "$ach" -gt "${best[$label]}" ] && best[$label]=$ach
		else
			lost[$label]=$ach
			break
		fi
		# A rate the replayer fell short of is noted, not a reason to stop:
		# on a shared machine the next step may well get further.
		if [ "$req" != max ] && [ $((ach * 10)) -lt $((req * 9)) ]; then
			echo "$label: the replayer reached only $ach of $req pps"
		fi
	done
done
echo "live: highest drop-free replay rate (achieved pps):"
for label in afpacket/1 afpacket/2 libpcap; do
	ratio=$(awk -v a="${best[$label]}" -v b="${best[libpcap]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	if [ -n "${lost[$label]}" ]; then
		why="frames lost at ${lost[$label]} pps"
	else
		why="no loss seen: the replayer's limit, not the reader's"
	fi
	printf '  %-12s %10s pps   (x%s of libpcap; %s)\n' "$label" "${best[$label]}" "$ratio" "$why"
done
echo "live: ringdrop = kernel ring drops (tp_drops); vethdrop = lost before the capture socket (veth backlog), which neither reader can see"
