#!/usr/bin/env bash
# Whole-program benchmark of nfr-score: events per second through every
# detector with a feed of 1,000,000 indicators loaded, and peak memory.
# There is no natural peer tool, so it prints our figures only. Run from
# the repository root after `make build`; inputs go to testdata/bench/.
set -euo pipefail

EVENTS=${EVENTS:-2000000}
dir=testdata/bench
bin=bin/nfr-score
mkdir -p "$dir"
[[ -x $bin ]] || { echo "score.sh: $bin missing: run make build first" >&2; exit 1; }

feed=$dir/score-feed-1m.txt
if [[ ! -s $feed ]]; then
	# 500,000 domains, 250,000 addresses, 250,000 /24 blocks.
	awk 'BEGIN {
		for (i = 0; i < 500000; i++) printf "c2-%d.bad%d.net\n", i, i % 977
		for (i = 0; i < 250000; i++) printf "%d.%d.%d.1\n", 45 + int(i / 65536), int(i / 256) % 256, i % 256
		for (i = 0; i < 250000; i++) printf "%d.%d.%d.0/24\n", 110 + int(i / 65536), int(i / 256) % 256, i % 256
	}' > "$feed"
fi
events=$dir/score-events-$EVENTS.json
if [[ ! -s $events ]]; then
	go run ./scripts/genthreats -scenario all -events -mixed "$EVENTS" -o "$events"
fi
n=$(wc -l < "$events")
conf=$dir/score-config.yml
printf 'score:\n  feeds:\n    - {file: %s, format: plain, threat: c2}\n' "$PWD/$feed" > "$conf"

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# measure LABEL CMD...: wall seconds, CPU seconds and peak RSS of CMD, from
# GNU time when installed, else from the shell's clock and /proc.
measure() {
	local label=$1 wall cpu rss
	shift
	if [[ -x /usr/bin/time ]]; then
		local t
		t=$(mktemp)
		/usr/bin/time -o "$t" -f '%e %U %S %M' "$@" > /dev/null 2>&1
		read -r wall user sys rss < "$t"
		rm -f "$t"
		cpu=$(calc "$user + $sys")
	else
		local start end pid
		start=$(date +%s.%N)
		"$@" > /dev/null 2>&1 &
		pid=$!
		rss=0
		while kill -0 "$pid" 2> /dev/null; do
			r=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null || echo 0)
			[[ ${r:-0} -gt $rss ]] && rss=$r
			sleep 0.05
		done
		wait "$pid"
		end=$(date +%s.%N)
		wall=$(calc "$end - $start")
		cpu=$wall
	fi
	printf '%-28s %8.2f s wall %8.2f s CPU %9d KiB peak RSS\n' "$label" "$wall" "$cpu" "$rss"
	LAST_WALL=$wall LAST_CPU=$cpu LAST_RSS=$rss
}

echo "nfr-score: $n events, feed of $(wc -l < "$feed") indicators, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
measure "load the feed only" "$bin" -c "$conf" /dev/null
feed_wall=$LAST_WALL
measure "score $n events" "$bin" -c "$conf" "$events"
wall=$LAST_WALL cpu=$LAST_CPU
echo "nfr-score: $(calc "$n / ($wall - $feed_wall)") events/s after the feed load, $(calc "$n / $wall") including it (target 500000)"
echo "nfr-score: $(calc "$n / $cpu") events per CPU-second (the machine is shared: load $(cut -d' ' -f1 /proc/loadavg))"
"$bin" -c "$conf" --stats "$events" 2>&1 > /dev/null | tail -1

# Bounded memory: one DNS lookup and one flow from each of 1,000,000
# distinct sources; the state caps (max_sources and friends) evict.
distinct=$dir/score-events-1m-sources.json
if [[ ! -s $distinct ]]; then
	awk 'BEGIN {
		for (i = 0; i < 1000000; i++) {
			s = sprintf("10.%d.%d.%d", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
			t = sprintf("2026-11-02T%02d:%02d:%02d.%03dZ", 9 + int(i / 3600000), int(i / 60000) % 60, int(i / 1000) % 60, i % 1000)
			printf "{\"type\":\"dns\",\"ts\":\"%s\",\"srcIP\":\"%s\",\"destIP\":\"10.0.0.2\",\"destPort\":53,\"proto\":\"udp\",\"query\":\"www.site%d.example.com\",\"qtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[\"93.184.%d.%d\"]}\n", t, s, i % 50000, int(i / 256) % 256, i % 256
			printf "{\"type\":\"ip\",\"ts\":\"%s\",\"srcIP\":\"%s\",\"destIP\":\"93.184.%d.%d\",\"destPort\":443,\"proto\":\"tcp\",\"bytesOut\":600,\"bytesIn\":4000,\"pktsOut\":6,\"pktsIn\":6,\"connState\":\"SF\"}\n", t, s, int(i / 256) % 256, i % 256
		}
	}' > "$distinct"
fi
measure "score 1 M distinct sources" "$bin" -c "$conf" "$distinct"
echo "nfr-score: peak memory with 1,000,000 distinct sources: $(awk "BEGIN { printf \"%.0f\", $LAST_RSS / 1024 }") MiB"
