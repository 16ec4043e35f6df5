#!/usr/bin/env bash
# Make sure a Docker Compose client is present: tests/unit/test_docker.py has it check
# docker-compose.yml and docker-compose.secure.yml (`compose config`, no daemon needed).
# Uses `docker compose` when the plugin is there, else installs Debian's docker-compose
# with apt-get when we are root; otherwise says what to install. Fast when present.
set -euo pipefail
if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-compose: installing docker-compose with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  command -v docker-compose >/dev/null 2>&1 && exit 0
fi
echo "ensure-compose: the Docker file checks need a compose client" \
     "(apt-get install docker-compose, or Docker's compose plugin)" >&2
exit 1
