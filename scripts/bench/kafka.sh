#!/usr/bin/env bash
# Events/s from two nfr-submit --kafka sensors through Kafka to two
# nfr-engine --kafka members (a transaction per polled batch: alerts,
# state checkpoints and offsets), all real binaries. No Kafka broker can be
# installed from Debian here, so the cluster is franz-go's kfake (three
# brokers, in the kafkabench process); a real cluster adds network and disk
# but not our CPU. Run from the repository root after `make build`:
#   bash scripts/bench/kafka.sh            (2 x 250,000 events)
#   N=500000 bash scripts/bench/kafka.sh
# Prints events/s and the ratio to the 200,000 events/s target of issue 16;
# BENCH_RUNS runs (default 3), the median counts.
set -euo pipefail

BIN=${BIN:-bin}
for b in nfr-engine nfr-submit; do
	[ -x "$BIN/$b" ] || { echo "kafka.sh: $BIN/$b missing; run make build" >&2; exit 1; }
done
n=${N:-250000}
runs=${BENCH_RUNS:-3}
tool=$(mktemp "${TMPDIR:-/tmp}/nfr-kafkabench.XXXXXX")
trap 'rm -f "$tool"' EXIT
go build -o "$tool" ./scripts/kafkabench

echo "kafka: load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
rates=()
for _ in $(seq "$runs"); do
	line=$("$tool" -n "$n" -bin "$BIN" 2>/dev/null)
	echo "$line"
	rates+=("$(sed -n 's/.* \([0-9]*\) events\/s.*/\1/p' <<<"$line")")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
awk -v r="$median" 'BEGIN { printf "kafka: median %d events/s, %.2fx the 200000 events/s target\n", r, r / 200000 }'
