#!/bin/sh
# Install Debian's `prometheus` package (the server and `promtool`) when either is missing.
# The tests run the binary themselves on a free loopback port with a temporary data
# directory, so the package's own service is kept from starting (and from starting at boot).
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "prometheus/promtool are missing and installing them needs root: run 'apt-get install prometheus' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "prometheus/promtool are missing and there is no apt-get here: install Prometheus 2.x so both are on PATH" >&2
    exit 1
fi

# invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a service; exit 101
# means "not now". Only add one for the install if the machine has none of its own.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=no
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    ADDED_POLICY=yes
fi
cleanup() { if [ "$ADDED_POLICY" = yes ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
fi
echo "installed $(prometheus --version 2>&1 | head -n 1)"
