# Shared by the whole-program benchmarks; sourced, not run.
# shellcheck shell=bash disable=SC2034

# measure CMD...: runs it with stdout to /dev/null, sets secs, rss_kb and
# cpu (user+system seconds, "?" without /usr/bin/time).
measure() {
	local out
	out=$(mktemp)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %M %U %S' -o "$out" "$@" >/dev/null 2>"$out.err" || { cat "$out.err" >&2; return 1; }
		read -r secs rss_kb user sys <"$out"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		rm -f "$out.err"
	else
		local start end pid peak=0 cur
		start=$(date +%s.%N)
		"$@" >/dev/null &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			cur=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${cur:-0}" -gt "$peak" ] && peak=$cur
			sleep 0.05
		done
		wait "$pid"
		end=$(date +%s.%N)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
		rss_kb=$peak
		cpu="?"
	fi
	rm -f "$out"
}


# measure_median CMD...: runs measure ${BENCH_RUNS:-3} times and keeps the
# run of median wall time (secs, rss_kb and cpu as measure sets them); runs
# lists every run's seconds. One run alone moves a lot on a shared machine.
measure_median() {
	local n=${BENCH_RUNS:-3} i all=()
	for ((i = 0; i < n; i++)); do
		measure "$@"
		all+=("$secs $rss_kb $cpu")
	done
	runs=$(printf '%s\n' "${all[@]}" | cut -d' ' -f1 | tr '\n' ' ')
	read -r secs rss_kb cpu < <(printf '%s\n' "${all[@]}" | sort -n | sed -n "$(((n + 1) / 2))p")
}
