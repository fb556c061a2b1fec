#!/usr/bin/env bash
# Install NFR's build and test dependencies on Debian or Ubuntu.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
# rsyslog* are the real receivers nfr-alert's tests start as unprivileged processes;
# chromium drives the browser tests; lintian and systemd (systemd-analyze) check the packaging.
pkgs=(libpcap-dev tshark tcpdump jq shellcheck mandoc iproute2 tcpreplay gcc make git
	rsyslog rsyslog-gnutls rsyslog-relp gnutls-bin chromium lintian systemd)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	$sudo apt-get update -q
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
	# Installing rsyslog must not start (or restart) the machine's own syslog
	# daemon: the tests run their own. policy-rc.d tells invoke-rc.d not to.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod 0755 /usr/sbin/policy-rc.d
		trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
command -v go >/dev/null || { echo "setup: error: Go 1.26 or newer is needed (https://go.dev/dl)" >&2; exit 1; }
go mod download
