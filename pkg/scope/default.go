package scope

// DefaultYAML is the built-in scope, used when neither --scope nor
// config.yml names a file. Sources are every address block the IANA
// special-purpose registries (RFC 6890 and its successors) mark as not
// globally reachable, and the private-use ones. Only destinations that can
// never be a real peer (loopback, link local, multicast, broadcast) are
// trusted: traffic between internal hosts is kept, since scans, lateral
// movement and tunnels to internal relays live there. Names under special-use and common
// internal suffixes are trusted. The sample scope.yml holds the same scope
// with comments; a test keeps the two in step.
const DefaultYAML = `groups:
  default:
    label: Default
    in_scope:
      # IPv4 special-purpose address registry: not globally reachable
      - 0.0.0.0/8          # "this network" (RFC 791)
      - 10.0.0.0/8         # private use (RFC 1918)
      - 100.64.0.0/10      # shared address space, carrier-grade NAT (RFC 6598)
      - 127.0.0.0/8        # loopback (RFC 1122)
      - 169.254.0.0/16     # link local (RFC 3927)
      - 172.16.0.0/12      # private use (RFC 1918)
      - 192.0.0.0/24       # IETF protocol assignments, DS-Lite, NAT64 (RFC 6890, 7335, 8880)
      - 192.0.2.0/24       # documentation TEST-NET-1 (RFC 5737)
      - 192.168.0.0/16     # private use (RFC 1918)
      - 198.18.0.0/15      # benchmarking (RFC 2544)
      - 198.51.100.0/24    # documentation TEST-NET-2 (RFC 5737)
      - 203.0.113.0/24     # documentation TEST-NET-3 (RFC 5737)
      - 240.0.0.0/4        # reserved (RFC 1112)
      # IPv6 special-purpose address registry: not globally reachable
      - ::1/128            # loopback (RFC 4291)
      - ::/128             # unspecified (RFC 4291)
      - 64:ff9b:1::/48     # local-use IPv4/IPv6 translation (RFC 8215)
      - 100::/64           # discard-only (RFC 6666)
      - 100:0:0:1::/64     # dummy prefix (RFC 9780)
      - 2001:2::/48        # benchmarking (RFC 5180)
      - 2001:db8::/32      # documentation (RFC 3849)
      - 3fff::/20          # documentation (RFC 9637)
      - 5f00::/16          # SRv6 SIDs (RFC 9602)
      - fc00::/7           # unique local (RFC 4193)
      - fe80::/10          # link local (RFC 4291)
    out_scope: []
    trusted_domains:
      - "*.arpa"           # reverse lookups, home.arpa (RFC 8375)
      - "*.local"          # multicast DNS (RFC 6762)
      - "*.localhost"      # special-use (RFC 6761)
      - "*.invalid"        # special-use (RFC 6761)
      - "*.test"           # special-use (RFC 6761)
      - "*.example"        # special-use (RFC 6761)
      - "*.internal"       # private use (ICANN, 2024)
      - "*.lan"            # common home-router suffix
    trusted_ips:
      - 0.0.0.0/8          # "this network": never a real destination
      - 127.0.0.0/8        # loopback
      - 169.254.0.0/16     # link local (RFC 3927)
      - 224.0.0.0/4        # multicast (RFC 5771)
      - 240.0.0.0/4        # reserved (RFC 1112)
      - 255.255.255.255    # limited broadcast (RFC 919)
      - ::/128             # unspecified
      - ::1/128            # loopback
      - fe80::/10          # link local
      - ff00::/8           # multicast (RFC 4291)
`

// Default returns the built-in scope (see DefaultYAML).
func Default() *Scope {
	s, err := Parse([]byte(DefaultYAML), "built-in")
	if err != nil {
		panic("scope: the built-in scope does not compile: " + err.Error())
	}
	return s
}
