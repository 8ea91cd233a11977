#!/usr/bin/env bash
# Install Debian's Prometheus server for the dashboard test (tests/lifecycle/test_prometheus.py).
# Only the binary /usr/bin/prometheus is used: the test starts its own server on a loopback port,
# so the packaged service is stopped and disabled if the package started it.
# Idempotent: does nothing when /usr/bin/prometheus already runs.
set -euo pipefail

if [ -x /usr/bin/prometheus ] && /usr/bin/prometheus --version >/dev/null 2>&1; then
    echo "prometheus already installed: $(/usr/bin/prometheus --version 2>&1 | head -1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# No recommends: they pull in (and start) prometheus-node-exporter, which the test does not need.
$SUDO apt-get install -y --no-install-recommends prometheus
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus || true
fi
echo "installed: $(/usr/bin/prometheus --version 2>&1 | head -1)"
