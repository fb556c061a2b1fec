#!/usr/bin/env bash
# Whole-program speed of nfr-parse-bro and nfr-parse-suricata beside the
# tools a user would otherwise reach for: awk cutting the same Zeek TSV
# columns, and jq -c reading the same eve.json. Run from the repository root
# after `make build`. Inputs are real logs from the shared test data, scaled
# up under testdata/bench/ (gitignored). Peak memory is measured at two file
# sizes to show it does not grow with the file.
#
#   DNS_LINES=1000000 EVE_LINES=300000 bash scripts/bench/parsers.sh
set -euo pipefail

data=${NFR_TESTDATA:-../shared/testdata}
out=testdata/bench
dns_lines=${DNS_LINES:-1000000}
eve_lines=${EVE_LINES:-300000}
mkdir -p "$out"

for b in bin/nfr-parse-bro bin/nfr-parse-suricata; do
	[[ -x $b ]] || { echo "parsers.sh: $b missing: run make build first" >&2; exit 1; }
done
[[ -f $data/MANIFEST.md ]] || { echo "parsers.sh: no test data at $data (set NFR_TESTDATA)" >&2; exit 1; }

# scale SRC N DST: the header lines of SRC once, then its records repeated
# until N records.
scale() {
	local src=$1 n=$2 dst=$3
	if [[ -f $dst && $(wc -l <"$dst") -ge $n ]]; then return; fi
	{
		grep '^#' "$src" | grep -v '^#close' || true
		grep -v '^#' "$src" | awk -v n="$n" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) print l[i % NR + 1] }'
	} >"$dst"
}

scale "$data/zeek-extra/rita-proxy/dns.log" "$dns_lines" "$out/dns.log"
scale "$data/zeek-extra/rita-proxy/dns.log" $((dns_lines / 4)) "$out/dns-quarter.log"
scale "$data/eve/slips-test6-malicious/test6-malicious.suricata.json" "$eve_lines" "$out/eve.json"
scale "$data/eve/slips-test6-malicious/test6-malicious.suricata.json" $((eve_lines / 4)) "$out/eve-quarter.json"

# measure CMD...: prints "wall_seconds cpu_seconds max_rss_kb". Output goes
# through a pipe, as in real use: /dev/null is a character device, which
# programs take for a terminal and line-buffer.
measure() {
	local tf
	tf=$(mktemp)
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" | cat >/dev/null
		awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$tf"
	else
		local t0 t1
		t0=$(date +%s.%N)
		"$@" | cat >/dev/null
		t1=$(date +%s.%N)
		echo "$(echo "$t1 - $t0" | bc) 0 0"
	fi
	rm -f "$tf"
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }'; }

report() {
	local name=$1 lines=$2 ours=$3 theirs=$4 other=$5
	read -r w c m <<<"$ours"
	read -r ow oc om <<<"$theirs"
	printf '%-20s %9s lines  %10s lines/s (%s lines per CPU second, %s MB peak)\n' "$name" "$lines" "$(rate "$lines" "$w")" "$(rate "$lines" "$c")" $((m / 1024))
	printf '%-20s %9s lines  %10s lines/s (%s lines per CPU second, %s MB peak)\n' "$other" "$lines" "$(rate "$lines" "$ow")" "$(rate "$lines" "$oc")" $((om / 1024))
	printf '%-20s %s\n' "ratio" "$(awk -v a="$ow" -v b="$w" 'BEGIN { printf "%.1fx faster than '"$other"' (wall clock)", a / b }')"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

dns_n=$(grep -vc '^#' "$out/dns.log")
# The columns nfr-parse-bro reads from dns.log, by position in this file.
cols=$(grep '^#fields' "$out/dns.log" | tr '\t' '\n' | tail -n +2 | awk '
	/^(ts|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|query|qtype_name|rcode_name|answers|TTLs)$/ { printf "%s$%d", sep, NR; sep = "," }')
ours=$(measure bin/nfr-parse-bro "$out/dns.log")
awk_out=$(measure awk -F'\t' "!/^#/ { print $cols }" "$out/dns.log")
echo "== Zeek TSV dns.log"
report nfr-parse-bro "$dns_n" "$ours" "$awk_out" "awk -F'\\t'"
q=$(measure bin/nfr-parse-bro "$out/dns-quarter.log")
echo "peak memory: $(($(echo "$q" | cut -d' ' -f3) / 1024)) MB at a quarter of the file, $(($(echo "$ours" | cut -d' ' -f3) / 1024)) MB at all of it"

eve_n=$(wc -l <"$out/eve.json")
ours=$(measure bin/nfr-parse-suricata "$out/eve.json")
jq_out=$(measure jq -c . "$out/eve.json")
echo "== Suricata eve.json"
report nfr-parse-suricata "$eve_n" "$ours" "$jq_out" "jq -c"
q=$(measure bin/nfr-parse-suricata "$out/eve-quarter.json")
echo "peak memory: $(($(echo "$q" | cut -d' ' -f3) / 1024)) MB at a quarter of the file, $(($(echo "$ours" | cut -d' ' -f3) / 1024)) MB at all of it"
