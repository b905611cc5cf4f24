#!/usr/bin/env bash
# Record a small LINKTYPE_LINUX_SLL2 (276) capture: what `tcpdump -i any` writes.
#
# Usage: sudo test/dissect/record-sll2.sh OUT.pcap
#
# Two network namespaces made here (named with this shell's PID), A (10.3.3.1) and B
# (10.3.3.2), joined by a veth pair; tcpdump listens on `any` inside B while A pings B twice
# (ARP first), A opens a TCP connection to B, sends a line and reads B's upper-cased answer, A
# sends a UDP datagram to a closed port of B (ICMP port unreachable), and B pings its own
# loopback once (ARPHRD_LOOPBACK frames, interface 1, seen going out and coming in). IPv6 is off
# so that router solicitations and MLD reports stay out. About 30 frames, in about 3 seconds.
#
# The namespaces and every process started here are removed on exit, also on failure. Needs
# root, ip, tcpdump, python3, ping, timeout.
set -Eeuo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT.pcap" >&2
  exit 2
fi
if [[ $EUID -ne 0 ]]; then
  echo "$0: needs root (network namespaces, tcpdump)" >&2
  exit 1
fi
for tool in ip tcpdump python3 ping timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$0: missing tool: $tool" >&2
    exit 1
  fi
done

OUT=$1
NS_A="ustack-sll2-a-$$"
NS_B="ustack-sll2-b-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ustack-sll2.XXXXXX")
chmod 755 "$WORK"
PIDS=()

cleanup() {
  local rc=$?
  set +e
  local pid
  if [[ -s "$WORK/tcpdump.pid" ]]; then
    kill -TERM "$(cat "$WORK/tcpdump.pid")" 2>/dev/null
  fi
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  if [[ $rc -ne 0 ]]; then
    echo "$0: failed (exit $rc); logs follow" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# wait_for_line FILE TEXT: wait (at most 10 s) until FILE contains TEXT.
wait_for_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -q -- "$2" "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

cat >"$WORK/upper.py" <<'PY'
import socket, sys
if sys.argv[1] == "serve":  # ADDR PORT: answer one line with it upper-cased
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], int(sys.argv[3])))
    s.listen(1)
    s.settimeout(10)
    print("listening", flush=True)
    c, _ = s.accept()
    c.settimeout(10)
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(100)
        if not d:
            break
        line += d
    c.sendall(line.upper())
    c.close()
elif sys.argv[1] == "ask":  # ADDR PORT
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
    s.sendall(b"hello, cooked v2\n")
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        reply += d
    if reply != b"HELLO, COOKED V2\n":
        sys.exit("ask: unexpected reply %r" % reply)
elif sys.argv[1] == "closed":  # ADDR PORT: a datagram to a closed port, wait for the refusal
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((sys.argv[2], int(sys.argv[3])))
    s.send(b"anyone there?")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        sys.exit(0)
    sys.exit("closed: no ICMP port unreachable")
PY

ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$NS_A" link add vA type veth peer name vB netns "$NS_B"
ip -n "$NS_A" addr add 10.3.3.1/24 dev vA
ip -n "$NS_B" addr add 10.3.3.2/24 dev vB
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up

# `ip netns exec` forks and waits rather than exec'ing, so its PID is not tcpdump's: the shell
# inside writes the PID of what it becomes (timeout, which passes SIGTERM on to tcpdump).
in_b sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$WORK/tcpdump.pid" \
  timeout 30 tcpdump -i any -y LINUX_SLL2 -U --immediate-mode -Z root -w "$WORK/out.pcap" >"$WORK/tcpdump.log" 2>&1 &
PIDS+=("$!")
wait_for_line "$WORK/tcpdump.log" "listening on"

in_a timeout 10 ping -n -q -c 2 -i 0.2 -W 2 10.3.3.2 >/dev/null
in_b timeout 15 python3 "$WORK/upper.py" serve 10.3.3.2 7000 >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
wait_for_line "$WORK/server.log" listening
in_a timeout 10 python3 "$WORK/upper.py" ask 10.3.3.2 7000
in_a timeout 10 python3 "$WORK/upper.py" closed 10.3.3.2 7001
in_b timeout 10 ping -n -q -c 1 -W 2 127.0.0.1 >/dev/null
sleep 0.3 # let the last segments reach the capture

# SIGTERM (a background job ignores SIGINT): tcpdump writes what it holds, its counts, and exits.
capture_pid=$(cat "$WORK/tcpdump.pid")
kill -TERM "$capture_pid"
wait_for_line "$WORK/tcpdump.log" "packets captured"
grep -q "link-type LINUX_SLL2" "$WORK/tcpdump.log" || {
  echo "$0: tcpdump did not record LINUX_SLL2" >&2
  exit 1
}
install -m 644 "$WORK/out.pcap" "$OUT"
grep -h -E 'packets? captured' "$WORK/tcpdump.log" | sed "s|^|$OUT: |"
