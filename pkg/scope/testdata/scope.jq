# testdata/scope.yml written independently as a jq program, as a reference
# for the golden test: jq -R -c -f scope.jq events.ndjson. It handles the
# IPv6 prefixes of that file only (by textual prefix), which is enough for
# the events in events.ndjson.
def v4: if test("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$") then split(".") | map(tonumber) | if any(.[]; . > 255) then null else .[0]*16777216 + .[1]*65536 + .[2]*256 + .[3] end else null end;
def in4($net; $bits): (v4) as $a | ($net | v4) as $n | $a != null and ($a - ($a % pow(2; 32 - $bits))) == $n;
def innet($c): ($c | split("/")) as [$n, $b] |
  if ($n | test(":")) then (ascii_downcase | startswith($n | rtrimstr("::") + ":")) else in4($n; ($b // "32") | tonumber) end;
def inany($list): . as $ip | any($list[]; . as $c | $ip | innet($c));
def norm: ascii_downcase | sub("\\.+$"; "");
def dmatch($pats): . as $n | any($pats[];
  if startswith("*.") then (.[2:]) as $s | ($n == $s or ($n | endswith("." + $s))) else $n == . end);
def groups: [
  {name: "guest", in: ["192.168.100.0/24", "192.168.100.1/32"], out: [], doms: ["captive.example.net"], ips: []},
  {name: "office", in: ["10.0.0.0/8", "2001:db8:10::/48"], out: ["10.0.0.53/32", "10.9.0.0/16"],
   doms: ["*.corp.example", "intranet", "*.arpa"], ips: ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]},
  {name: "pci", in: ["10.20.0.0/16"], out: ["10.20.99.0/24"], doms: ["*.payments.example.com"], ips: []}
];
fromjson? | select(type == "object" and has("type")) |
if (.type | IN("dns", "ip", "http", "tls")) | not then .
else
  . as $e
  | select($e.srcIP != null)
  | [groups[] | . as $g | select($e.srcIP | inany($g.in))] as $cov
  | select($cov | length > 0)
  | (if $e.type == "dns" then $e.query elif $e.type == "http" then ($e.host // "" | sub(":[0-9]+$"; "")) elif $e.type == "tls" then $e.sni else null end) as $name
  | select(all($cov[];
      . as $g | ($e.srcIP | inany($g.out)) | not)
    and all($cov[]; . as $g | ($name == null or $name == "" or (($name | norm | dmatch($g.doms)) | not)))
    and ($e.type == "dns" or $e.destIP == null or all($cov[]; . as $g | ($e.destIP | sub("^::ffff:"; "") | inany($g.ips)) | not)))
  | .groups = [$cov[].name]
end
