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
# The namespaces and every process started here are removed on exit, also on failure
# (../fixtures/capture-harness.sh). Needs
# root, ip, tcpdump, python3, ping, timeout.
set -Eeuo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT.pcap" >&2
  exit 2
fi
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$SCRIPT_DIR/../fixtures/capture-harness.sh"
harness_start ustack-sll2 python3 ping
OUT=$1
NS_A="ustack-sll2-a-$$"
NS_B="ustack-sll2-b-$$"

cat >"$WORK/traffic.py" <<'PY'
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

add_namespaces "$NS_A" "$NS_B"
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_A" link add vA type veth peer name vB netns "$NS_B"
ip -n "$NS_A" addr add 10.3.3.1/24 dev vA
ip -n "$NS_B" addr add 10.3.3.2/24 dev vB
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up

start_capture "$NS_B" any "$WORK/out.pcap" -y LINUX_SLL2

in_a timeout 10 ping -n -q -c 2 -i 0.2 -W 2 10.3.3.2 >/dev/null
serve_in_b server serve 10.3.3.2 7000
in_a timeout 10 python3 "$WORK/traffic.py" ask 10.3.3.2 7000
in_a timeout 10 python3 "$WORK/traffic.py" closed 10.3.3.2 7001
in_b timeout 10 ping -n -q -c 1 -W 2 127.0.0.1 >/dev/null
sleep 0.3 # let the last segments reach the capture

stop_capture out
grep -q "link-type LINUX_SLL2" "$WORK/tcpdump-out.log" || {
  echo "$0: tcpdump did not record LINUX_SLL2" >&2
  exit 1
}
install -m 644 "$WORK/out.pcap" "$OUT"
grep -h -E 'packets? captured' "$WORK/tcpdump-out.log" | sed "s|^|$OUT: |"
