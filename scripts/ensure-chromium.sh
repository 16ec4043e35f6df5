#!/usr/bin/env bash
# Make sure Debian's chromium and chromium-driver are present (the web tests drive a real
# headless browser with Selenium through /usr/bin/chromedriver; nothing is downloaded by
# Selenium or Playwright). Installs them with apt-get when missing and we are root;
# otherwise says what to install. Fast and silent when both are there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing chromium and chromium-driver with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && exit 0
fi
echo "ensure-chromium: the browser tests need Debian's chromium and chromium-driver" \
     "(apt-get install chromium chromium-driver)" >&2
exit 1
