#!/usr/bin/env bash
# Install NFR's build and test dependencies on Debian or Ubuntu.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
pkgs=(libpcap-dev tshark tcpdump jq shellcheck mandoc iproute2 tcpreplay gcc make git)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	$sudo apt-get update -q
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
command -v go >/dev/null || { echo "setup: error: Go 1.26 or newer is needed (https://go.dev/dl)" >&2; exit 1; }
go mod download
