#!/bin/sh
# Install Debian's `docker-compose` package (1.29) when it is missing. The deployment-file
# tests run `docker-compose config`, which parses, interpolates and validates
# deploy/docker-compose.yml without a Docker engine; the engine (docker.io, only recommended
# by the package) is not installed.
set -eu

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "docker-compose is missing and installing it needs root: run 'apt-get install --no-install-recommends docker-compose' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "docker-compose is missing and there is no apt-get here: install docker-compose 1.29 (or Compose v2 as 'docker-compose') so it is on PATH" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
echo "installed $(docker-compose version --short 2>/dev/null || docker-compose --version)"
