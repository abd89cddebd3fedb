#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium when it is missing, for the
# report's browser test (internal/report/browsertest, cmd/ncd
# TestReportInChromium). CI runs as root; elsewhere it needs sudo or says
# what to do. Without chromium those tests skip with a visible message.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: not root; run 'sudo apt-get install -y chromium' for the browser tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
chromium --version
