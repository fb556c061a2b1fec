#!/usr/bin/env bash
# nfr-scope throughput: a scope of 10,000 networks and 100,000 trusted
# domains, a few million dns events; compared with jq doing a comparable
# selection (source prefix and trusted-domain test) on the same events.
# Run from the repository root after `make build`: bash scripts/bench/scope.sh
# EVENTS=3000000 sets the number of events.
set -euo pipefail

bin=bin/nfr-scope
[[ -x $bin ]] || { echo "scope.sh: $bin missing: run make build first" >&2; exit 1; }
dir=testdata/bench
mkdir -p "$dir"
events=${EVENTS:-3000000}
scope=$dir/scope-big-v2.yml
input=$dir/scope-events-$events.ndjson

# The scope: 4 groups, each 2,500 networks (IPv4 /24s, single addresses as
# exclusions, IPv6 /48s) and 25,000 trusted domains (half wildcards); g0
# also covers 10.0.0.0/8 and fc00::/7, so most events are in scope, as on a
# sensor whose scope describes its own network.
if [[ ! -s $scope ]]; then
	awk 'BEGIN {
		srand(7); print "groups:"
		for (g = 0; g < 4; g++) {
			printf "  g%d:\n    label: Group %d\n    in_scope:\n", g, g
			if (g == 0) printf "      - 10.0.0.0/8\n      - fc00::/7\n"
			for (i = 0; i < 2000; i++) printf "      - 10.%d.%d.0/24\n", int(rand()*256), int(rand()*256)
			for (i = 0; i < 250; i++) printf "      - fd%02x:%x::/48\n", int(rand()*256), int(rand()*65536)
			printf "    out_scope:\n"
			for (i = 0; i < 250; i++) printf "      - 10.%d.%d.%d\n", int(rand()*256), int(rand()*256), int(rand()*256)
			printf "    trusted_ips: [192.0.2.0/24]\n    trusted_domains:\n"
			for (i = 0; i < 25000; i++)
				if (i % 2) printf "      - host%d.d%d-%d.example.com\n", i, g, i
				else printf "      - \"*.d%d-%d.example\"\n", g, i
		}
	}' >"$scope"
fi

# The events: nfr-capture-shaped dns events; sources mostly inside the
# scope, names a mix of trusted and untrusted ones.
if [[ ! -s $input ]]; then
	awk -v n="$events" 'BEGIN {
		srand(9)
		for (i = 0; i < n; i++) {
			r = int(rand()*10)
			if (r == 0) src = sprintf("fd%02x:1::%x", int(rand()*256), int(rand()*65536))
			else if (r == 1) src = sprintf("203.0.113.%d", int(rand()*256))
			else src = sprintf("10.%d.%d.%d", int(rand()*256), int(rand()*256), int(rand()*256))
			if (i % 4 == 0) q = sprintf("www.d%d-%d.example", int(rand()*4), 2*int(rand()*12500))
			else q = sprintf("n%d.site%d.com", int(rand()*1000), int(rand()*100000))
			printf "{\"type\":\"dns\",\"v\":1,\"ts\":\"2026-11-27T07:00:%02d.%06dZ\",\"srcIP\":\"%s\",\"srcPort\":%d,\"destIP\":\"10.0.0.53\",\"destPort\":53,\"proto\":\"udp\",\"query\":\"%s\",\"qtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[\"93.184.215.14\"],\"ttls\":[300]}\n", (i/1000000)%60, i%1000000, src, 1024+int(rand()*60000), q
		}
	}' >"$input"
fi

lines=$(wc -l <"$input")
mb=$(( $(stat -c %s "$input") / 1000000 ))
echo "input: $lines events ($mb MB), scope: $(grep -c '^      - ' "$scope") entries"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
peak() { # peak RSS in MB from /usr/bin/time -v output
	awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"
}
timev=()
[[ -x /usr/bin/time ]] && timev=(/usr/bin/time -v -o "$dir/time.txt")

# Scope load time alone.
t0=$(now)
"$bin" --check "$scope" >/dev/null 2>"$dir/check.txt" # notes on random out_scope entries
t1=$(now)
load=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
echo "nfr-scope --check (load the scope): ${load}s"

t0=$(now)
"${timev[@]}" "$bin" --scope "$scope" --stats "$input" 2>"$dir/stats.txt" >/dev/null || { cat "$dir/stats.txt" >&2; exit 1; }
t1=$(now)
ours_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
ours=$(rate "$lines" "$ours_t")
cpu=""
if [[ ${#timev[@]} -gt 0 ]]; then
	cpu_t=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.3f", s }' "$dir/time.txt")
	cpu=", ${cpu_t}s CPU = $(rate "$lines" "$cpu_t") events per CPU second (includes the scope load)"
fi
kept=$(sed -n 's/.*, kept \([0-9]*\),.*/\1/p' "$dir/stats.txt")
mem=""
[[ ${#timev[@]} -gt 0 ]] && mem=", peak $(peak "$dir/time.txt") MB"
echo "nfr-scope: ${ours_t}s, $ours events/s, kept $kept$mem$cpu"
# The rate through the loaded scope: the run less the load timed above.
after=$(awk -v a="$ours_t" -v l="$load" 'BEGIN { t = a - l; if (t <= 0) t = 0.001; printf "%.3f", t }')
echo "nfr-scope: $(rate "$lines" "$after") events/s once the scope is loaded (${after}s)"
grep 'nfr-scope: read' "$dir/stats.txt" || true

# jq: the same kind of selection with group g1's networks and trusted
# domains as lookup tables loaded once (jq has no prefix trie: /24 lookups
# by key, and a label-suffix lookup for the domains). jq is slow, so it runs
# on the first JQ_EVENTS events.
jqn=${JQ_EVENTS:-300000}
tables=$dir/scope-jq-tables.json
awk '
	/^  g1:/ { on = 1; next } /^  g2:/ { on = 0 }
	on && /^      - 10\.[0-9]+\.[0-9]+\.0\/24$/ { s = $0; sub(/^      - /, "", s); sub(/\.0\/24$/, "", s); nets[s] = 1 }
	on && /^      - "\*\./ { s = $0; sub(/^      - "\*\./, "", s); sub(/"$/, "", s); wild[s] = 1 }
	on && /^      - host/ { s = $0; sub(/^      - /, "", s); exact[s] = 1 }
	function obj(a,   k, c) { printf "{"; c = ""; for (k in a) { printf "%s\"%s\":1", c, k; c = "," } printf "}" }
	END { printf "{\"nets\":"; obj(nets); printf ",\"wild\":"; obj(wild); printf ",\"exact\":"; obj(exact); print "}" }
' "$scope" >"$tables"
head -n "$jqn" "$input" >"$dir/scope-jq-in.ndjson"
t0=$(now)
# shellcheck disable=SC2016 # jq variables, not shell ones
"${timev[@]}" jq -c --slurpfile t "$tables" '
	$t[0] as $t
	| select(.srcIP | split(".") | .[0:3] | join(".") | in($t.nets))
	| select((.query | ascii_downcase) as $q
		| ($t.exact[$q] // ([$q | splits("[.]")] | [range(0; length) as $i | .[$i:] | join(".")] | any(in($t.wild)))) | not)
' "$dir/scope-jq-in.ndjson" >"$dir/jq-out.ndjson"
t1=$(now)
jq_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
jqr=$(rate "$jqn" "$jq_t")
mem=""
[[ ${#timev[@]} -gt 0 ]] && mem=", peak $(peak "$dir/time.txt") MB"
echo "jq -c 'select(...)' on $jqn events: ${jq_t}s, $jqr events/s, kept $(wc -l <"$dir/jq-out.ndjson") (group g1 only)$mem"
echo "ratio nfr-scope/jq: $(awk -v a="$ours" -v b="$jqr" 'BEGIN { printf "%.1fx", a / b }')"
echo "target: >= 2000000 events/s, scope load < 1s; machine load now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
