#!/usr/bin/env bash
# Make sure Java 17+ and Maven are present (they fetch and run the Kafka broker).
# Installs them with apt-get when missing and we are root; otherwise says what to install.
set -euo pipefail
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null
}
if java_ok && command -v mvn >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-java: installing OpenJDK 17 and Maven with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  java_ok && command -v mvn >/dev/null && exit 0
fi
echo "ensure-java: Java 17+ and Maven are required (apt-get install openjdk-17-jdk-headless maven)" >&2
exit 1
