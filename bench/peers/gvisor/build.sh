#!/usr/bin/env bash
# Builds the gVisor netstack peer offline against Debian's packaged Go sources.
# Usage: bench/peers/gvisor/build.sh OUTPUT   (e.g. bench/peers/build/gvisor-peer)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTPUT" >&2
  exit 1
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode

if ! command -v go >/dev/null 2>&1 || [ ! -d "$gocode/src/gvisor.dev/gvisor/pkg/tcpip/link/fdbased" ]; then
  echo "gvisor peer: needs Go and gVisor's sources; install them with: apt-get install golang-go golang-gvisor-gvisor-dev" >&2
  exit 2
fi

mkdir -p "$(dirname "$out")"
# GOPATH mode over Debian's /usr/share/gocode tree: no modules, no network.
GO111MODULE=off GOPATH="$gocode" GOPROXY=off GOFLAGS= \
  go build -trimpath -o "$out" "$here"/*.go
