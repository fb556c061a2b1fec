#!/usr/bin/env bash
# Events per second nfr-engine ingests over loopback from a Go load client
# (scripts/bench/engineload): 1000-event DNS batches, 4 connections, each
# batch with its own id, the database on $TMPDIR. Compared with the target
# of the whole pipeline, 200,000 events/s, with the server's CPU time per
# event (steadier than events/s on a shared machine). Run from the repository root
# after `make build`. EVENTS and CLIENTS override the defaults.
set -euo pipefail

bin=bin/nfr-engine
[[ -x $bin ]] || { echo "engine.sh: $bin missing: run make build" >&2; exit 1; }
events=${EVENTS:-2000000}
clients=${CLIENTS:-4}
target=200000

work=$(mktemp -d "${TMPDIR:-/tmp}/nfr-bench-engine.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/engineload" ./scripts/bench/engineload

run() { # run SYNC [GZIP]: prints "events/s peak-RSS-KiB server-CPU-seconds"
	local sync=$1 db=$work/engine-$1${2:-}.db url='' i
	local -a gz=()
	[[ -n ${2:-} ]] && gz=("$2")
	printf 'engine:\n  sync: %s\n' "$sync" >"$work/config.yml"
	NFR_API_KEY=$("$bin" -c "$work/config.yml" --db "$db" keys add bench 2>/dev/null)
	export NFR_API_KEY
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -v -o "$work/time" "$bin" -c "$work/config.yml" --db "$db" --listen 127.0.0.1:0 2>"$work/stderr" &
	else
		"$bin" -c "$work/config.yml" --db "$db" --listen 127.0.0.1:0 2>"$work/stderr" &
	fi
	pid=$!
	for ((i = 0; i < 100; i++)); do
		url=$(sed -n 's/^nfr-engine: listening on \([^,]*\),.*/\1/p' "$work/stderr")
		[[ -n $url ]] && break
		sleep 0.1
	done
	[[ -n $url ]] || { cat "$work/stderr" >&2; exit 1; }
	local out rate rss=
	out=$("$work/engineload" --url "$url" --events "$events" --clients "$clients" "${gz[@]}")
	rate=$(awk '{print int($6)}' <<<"$out")
	local engine_pid
	engine_pid=$(pgrep -P "$pid" nfr-engine || echo "$pid")
	rss=$(awk '/^VmHWM/ {print $2}' "/proc/$engine_pid/status" 2>/dev/null || true)
	# utime + stime of the server, in clock ticks: CPU per event does not
	# depend on how loaded the machine is, unlike events/s.
	local cpu
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$engine_pid/stat")
	kill -TERM "$engine_pid"
	wait "$pid" || true
	pid=
	if [[ -f $work/time ]]; then
		rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
	fi
	echo "$rate ${rss:-?} $cpu"
}

echo "nfr-engine ingest over loopback: $events DNS events in 1000-event batches, $clients connections, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for mode in "full" "normal" "full --gzip"; do
	# shellcheck disable=SC2086 # mode is two words on purpose
	read -r rate rss cpu < <(run $mode)
	printf '  sync=%-13s %8d events/s  target %d  ratio %.2f  peak RSS %s KiB  server CPU %.2f us/event (%d events/s per core)\n' \
		"${mode/ --/,}" "$rate" "$target" "$(awk -v a="$rate" -v b="$target" 'BEGIN {print a/b}')" "$rss" \
		"$(awk -v c="$cpu" -v n="$events" 'BEGIN {print c * 1e6 / n}')" "$(awk -v c="$cpu" -v n="$events" 'BEGIN {print int(n / c)}')"
done
