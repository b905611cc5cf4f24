#!/usr/bin/env bash
# Build the lwIP peer against Debian's liblwip-dev (lwIP 2.1.3, shared library).
# Usage: bench/peers/lwip/build.sh OUTPUT   (e.g. bench/peers/build/lwip-peer)
set -euo pipefail
out=${1:?usage: build.sh OUTPUT}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
if ! command -v gcc >/dev/null 2>&1; then
  echo "lwip peer: gcc not found; install it with: apt-get install gcc" >&2; exit 2
fi
if [ ! -f /usr/include/lwip/lwipopts.h ] || ! compgen -G "/usr/lib/*/liblwip.so" >/dev/null; then
  echo "lwip peer: liblwip-dev not installed; install it with: apt-get install liblwip-dev" >&2; exit 2
fi
mkdir -p "$(dirname "$out")"
# -I/usr/include/lwip is what Debian's lwip.pc gives; it holds lwipopts.h and
# arch/, so we compile with exactly the options the library was built with.
gcc -O2 -Wall -Wextra -std=gnu11 -I/usr/include/lwip \
  -o "$out" "$here/lwip-peer.c" -llwip
