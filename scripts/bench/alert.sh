#!/usr/bin/env bash
# Whole-program benchmark of nfr-alert: alerts per second delivered to
# three outputs at once (a file, syslog over TCP into a real rsyslogd, and a
# webhook taking severity 5), against util-linux logger(1) sending the
# same lines to the same rsyslogd over TCP, the tool a user would
# otherwise pick. Target: 50,000 alerts/s. Run from the repository root
# after `make build`.
set -euo pipefail

N=${ALERTS:-300000}
bin=bin/nfr-alert
[[ -x $bin ]] || { echo "alert.sh: $bin missing: run make build first" >&2; exit 1; }
[[ -x /usr/sbin/rsyslogd ]] || { echo "alert.sh: rsyslogd missing: scripts/setup.sh installs it" >&2; exit 1; }
tmp=$(mktemp -d)
rs_pid='' sink_pid=''
cleanup() {
	[[ -n $rs_pid ]] && kill "$rs_pid" 2> /dev/null && wait "$rs_pid" 2> /dev/null
	[[ -n $sink_pid ]] && kill "$sink_pid" 2> /dev/null && wait "$sink_pid" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

calc() { awk "BEGIN { printf \"%.0f\", $1 }"; }
now() { date +%s.%N; }

# Alerts of severity 1 to 4, and one in a hundred of severity 5: the
# pager's share (one POST each; a chat webhook takes about one a second,
# so even this is far above what a pager sees).
awk -v n="$N" 'BEGIN {
	for (i = 0; i < n; i++) {
		s = i % 100 == 0 ? 5 : i % 4 + 1
		printf "{\"type\":\"alert\",\"v\":1,\"ts\":\"2026-11-02T09:01:55.726Z\",\"srcIP\":\"10.0.%d.%d\",\"srcPort\":%d,\"destIP\":\"10.0.0.2\",\"destPort\":53,\"proto\":\"udp\",\"query\":\"x%d.example.net\",\"qtype\":\"A\",\"rcode\":\"NXDOMAIN\",\"eventType\":\"dns\",\"severity\":%d,\"threats\":{\"dga\":{\"title\":\"Algorithmically generated domain names (DGA)\",\"severity\":%d,\"policy\":false}},\"flags\":[\"nxdomain\"],\"reason\":\"alert %d\"}\n", int(i / 250) % 256, i % 250, 1024 + i % 60000, i, s, s, i
	}
}' > "$tmp/alerts.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2> /dev/null || echo 25514)
mkdir -p "$tmp/work"
cat > "$tmp/rsyslog.conf" << EOF2
global(workDirectory="$tmp/work" maxMessageSize="64k")
module(load="imptcp")
template(name="m" type="string" string="%msg%\n")
ruleset(name="r") { action(type="omfile" file="$tmp/rsyslog.out" template="m" asyncWriting="on" ioBufferSize="1m") }
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="r")
EOF2
/usr/sbin/rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslog.pid" > "$tmp/rsyslog.log" 2>&1 &
rs_pid=$!
for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break; sleep 0.05; done

go build -o "$tmp/webhooksink" ./scripts/bench/webhooksink
"$tmp/webhooksink" > "$tmp/sink.out" &
sink_pid=$!
for _ in $(seq 100); do [[ -s $tmp/sink.out ]] && break; sleep 0.05; done
hook=$(head -1 "$tmp/sink.out")

# wait_lines FILE N: until FILE has N lines (rsyslog writes asynchronously).
wait_lines() {
	for _ in $(seq 600); do
		[[ -f $1 && $(wc -l < "$1") -ge $2 ]] && return 0
		sleep 0.1
	done
	echo "alert.sh: $1 has $(wc -l < "$1") lines, want $2" >&2
	return 1
}

cat > "$tmp/config.yml" << EOF2
sensor: bench
alerts:
  queue: $tmp/queue
  outputs:
    - {name: file, url: "file:$tmp/alerts.cef", format: cef}
    - {name: siem, url: "syslog+tcp://127.0.0.1:$port", format: syslog}
    - {name: pager, url: "http://$hook/hook", body: json, min_severity: 5}
EOF2

echo "nfr-alert: $N alerts, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
start=$(now)
"$bin" -c "$tmp/config.yml" --no-pass --stats --wait 10m "$tmp/alerts.json" 2> "$tmp/stats" &
pid=$!
# CPU seconds of nfr-alert, from /proc just before it exits.
ticks=0
while kill -0 "$pid" 2> /dev/null; do
	t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2> /dev/null || echo "$ticks")
	ticks=${t:-$ticks}
	sleep 0.05
done
wait "$pid"
end=$(now)
wait_lines "$tmp/rsyslog.out" "$N"
took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
ours=$(calc "$N / $took")
sed 's/^/  /' "$tmp/stats"
echo "nfr-alert, 3 outputs (file cef, syslog tcp into rsyslogd, webhook with the 1% of severity 5): $took s, $ours alerts/s (target 50000)"
cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
[[ $cpu != 0.00 ]] && echo "nfr-alert: $cpu CPU s, $(calc "$N / $cpu") alerts per CPU-second (the machine is shared: load $(cut -d' ' -f1 /proc/loadavg))"
[[ $(wc -l < "$tmp/alerts.cef") -eq $N ]] || { echo "alert.sh: the file output is short" >&2; exit 1; }

# The peer: logger(1) sending the same lines over TCP, octet-counted, and
# nfr-alert with the same single output.
: > "$tmp/rsyslog.out"
kill -HUP "$rs_pid"
sleep 0.5
start=$(now)
logger --tcp --octet-count --rfc5424 -n 127.0.0.1 -P "$port" -t nfr -f "$tmp/alerts.json"
wait_lines "$tmp/rsyslog.out" "$N"
end=$(now)
peer=$(calc "$N / ($end - $start)")
rm -f "$tmp/rsyslog.out"
kill -HUP "$rs_pid"
sleep 0.5
start=$(now)
"$bin" -c /dev/null -q "$tmp/queue1" --no-pass --wait 10m -o "syslog+tcp://127.0.0.1:$port" "$tmp/alerts.json"
wait_lines "$tmp/rsyslog.out" "$N"
end=$(now)
one=$(calc "$N / ($end - $start)")
echo "syslog tcp into rsyslogd, until rsyslog wrote every line: nfr-alert $one alerts/s, logger $peer alerts/s, ratio $(awk -v a="$one" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')"
