#!/usr/bin/env bash
# Record real Linux-kernel IPv6 traffic as pcap fixtures, in each link type ustack reads.
#
# Usage: sudo test/ip/record-ipv6.sh OUTDIR
#
# Writes, into OUTDIR:
#   eth.pcap    LINKTYPE_ETHERNET (1): tcpdump on A's veth
#   sll.pcap    LINKTYPE_LINUX_SLL (113): `tcpdump -i any -y LINUX_SLL` in A, same run
#   sll2.pcap   LINKTYPE_LINUX_SLL2 (276): `tcpdump -i any -y LINUX_SLL2` in A, same run
#   raw.pcap    LINKTYPE_RAW (101): TUN devices in A and B joined by ../fixtures/tun-relay.py
#   ipv6.pcap   LINKTYPE_IPV6 (229): raw.pcap converted with `editcap -T rawip6`
#
# The veth run: namespaces A, B and C; A (fd00:15::1) and B (fd00:15::2) share a 1500-byte
# link, B (fd00:16::2, forwarding) and C (fd00:16::3) a 1280-byte one. Captured from before A's
# link comes up: MLDv2 reports and duplicate address detection (neighbor solicitations from ::),
# then a router advertisement B sends by a raw socket (SLLA, MTU and prefix options; A makes a
# SLAAC address from it, with DAD), neighbor solicitation and advertisement, `ping -6` (small,
# and `-s 3000`, fragmented both ways), UDP 100 and 3000 bytes echoed, UDP to a closed port
# (destination unreachable), TCP to a closed port (RST) and a 20 KB transfer, a listener joining
# and leaving ff02::1:2345 (MLDv2 reports), `ping -6 -t 1` to C (time exceeded from B), UDP
# 1400 bytes to C (packet too big, MTU 1280, from B, then the datagram again in fragments), and
# hand-made packets from a raw socket that B's kernel answers with Parameter Problems: an
# unknown destination option (code 2), a type 0 routing header with segments left (code 0,
# RFC 5095), an unknown next header (code 1) and a hop-by-hop header after another (code 1).
# The TUN run has no link layer (no NDP) and no router: pings, UDP, TCP and the hand-made packets.
#
# Everything happens inside network namespaces made here (named with this shell's PID); they,
# and every process started here, are removed on exit, also on failure
# (../fixtures/capture-harness.sh). Needs root, ip,
# tcpdump, ethtool, python3, ping, timeout, editcap (wireshark-common). Finishes in about 20 seconds on 2 loaded cores.
set -Eeuo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$SCRIPT_DIR/../fixtures/capture-harness.sh"
harness_start ustack-ipv6 ethtool python3 ping editcap
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
NS_A="ustack-v6-a-$$"
NS_B="ustack-v6-b-$$"
NS_C="ustack-v6-c-$$"

# wait_until_no_tentative NS: wait (at most 10 s) until duplicate address detection is over.
wait_until_no_tentative() {
  local i
  for ((i = 0; i < 100; i++)); do
    if [[ -z $(ip -n "$1" -6 addr show tentative) ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "duplicate address detection did not finish in $1" >&2
  return 1
}

cat >"$WORK/traffic.py" <<'PY'
import socket, struct, sys, time

cmd, args = sys.argv[1], sys.argv[2:]

def pattern(n):
    return bytes(((i * 131) ^ (i >> 7) ^ 0x5A) & 0xFF for i in range(n))

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ipv6(src, dst, next_header, payload, hop_limit=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, hop_limit) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload

def udp(src, dst, sport, dport, data):
    length = 8 + len(data)
    pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", length, 17)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    return struct.pack("!HHHH", sport, dport, length, checksum(pseudo + header + data) or 0xFFFF) + data

if cmd == "tcp-sink":  # ADDR PORT
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args[0], int(args[1])))
    s.listen(1)
    s.settimeout(20)
    print("listening", flush=True)
    c, _ = s.accept()
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b"got %d\n" % n)
    c.close()
elif cmd == "tcp-send":  # ADDR PORT NBYTES
    n = int(args[2])
    s = socket.create_connection((args[0], int(args[1])), timeout=20)
    s.sendall(pattern(n))
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        reply += d
    if reply != b"got %d\n" % n:
        sys.exit("tcp-send: unexpected reply %r" % reply)
elif cmd == "tcp-refused":  # ADDR PORT
    try:
        socket.create_connection((args[0], int(args[1])), timeout=5)
    except ConnectionRefusedError:
        sys.exit(0)
    sys.exit("tcp-refused: connection was not refused")
elif cmd == "udp-echo":  # ADDR PORT COUNT
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((args[0], int(args[1])))
    s.settimeout(20)
    print("listening", flush=True)
    for _ in range(int(args[2])):
        d, peer = s.recvfrom(65535)
        s.sendto(d, peer)
elif cmd == "udp-send":  # ADDR PORT SIZE...: each echoed back
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(5)
    for size in args[2:]:
        data = pattern(int(size))
        s.sendto(data, (args[0], int(args[1])))
        echo, _ = s.recvfrom(65535)
        if echo != data:
            sys.exit("udp-send: bad echo")
elif cmd == "udp-closed":  # ADDR PORT
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((args[0], int(args[1])))
    s.send(pattern(32))
    try:
        s.recv(100)
    except ConnectionRefusedError:
        sys.exit(0)
    sys.exit("udp-closed: no port unreachable")
elif cmd == "udp-too-big":  # ADDR PORT SIZE: the first copy meets a smaller MTU, the second goes out in fragments
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect((args[0], int(args[1])))
    s.send(pattern(int(args[2])))
    time.sleep(0.3)
    try:
        s.send(pattern(int(args[2])))
    except OSError:  # EMSGSIZE: the socket's pending error from the Packet Too Big; the next send fragments
        s.send(pattern(int(args[2])))
    time.sleep(0.3)
elif cmd == "join":  # GROUP IFNAME SECONDS: listen to a group for a while, then leave
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    index = socket.if_nametoindex(args[1])
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, args[0]) + struct.pack("@I", index))
    time.sleep(float(args[2]))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, socket.inet_pton(socket.AF_INET6, args[0]) + struct.pack("@I", index))
    time.sleep(0.3)
elif cmd == "router-advertisement":  # IFNAME PREFIX: an RA to all nodes from this node's link-local address
    ifname, prefix = args
    index = socket.if_nametoindex(ifname)
    mac = bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    options = struct.pack("!BB", 1, 1) + mac  # Source Link-Layer Address
    options += struct.pack("!BBHI", 5, 1, 0, 1500)  # MTU
    options += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
    # Cur hop limit 64, no M/O, router lifetime 0 (not a default router), reachable time and retrans timer unspecified.
    message = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0) + options
    s.sendto(message, ("ff02::1", 0, 0, index))
elif cmd == "hostile":  # SRC DST: hand-made packets the destination answers with Parameter Problems
    src, dst = args
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    body = udp(src, dst, 40000, 6003, b"probe")
    # An unknown destination option whose high bits are 10 (RFC 8200 §4.2): code 2 at the option.
    dstopts = struct.pack("!BB", 17, 0) + bytes([0x9E, 2, 0, 0, 1, 0])
    # A type 0 routing header with one segment left (RFC 5095 §3): code 0 at Routing Type.
    rthdr0 = struct.pack("!BBBBI", 17, 2, 0, 1, 0) + socket.inet_pton(socket.AF_INET6, "fd00:15::99")
    # Hop-by-hop after a destination options header (RFC 8200 §4.1): code 1 at the Next Header naming it.
    late_hop_by_hop = struct.pack("!BB", 0, 0) + bytes([1, 4, 0, 0, 0, 0]) + struct.pack("!BB", 17, 0) + bytes([1, 4, 0, 0, 0, 0])
    for next_header, payload in ((60, dstopts + body), (43, rthdr0 + body), (253, b"\0" * 8), (60, late_hop_by_hop + body)):
        s.sendto(ipv6(src, dst, next_header, payload), (dst, 0))
        time.sleep(0.1)
else:
    sys.exit("unknown command " + cmd)
PY

# common_traffic A_ADDR B_ADDR: what both runs carry from A to B.
common_traffic() {
  local a=$1 b=$2 py="$WORK/traffic.py"
  in_a timeout 10 ping -6 -n -q -c 2 -i 0.2 -W 2 "$b" >/dev/null
  in_a timeout 10 ping -6 -n -q -c 1 -W 2 -s 3000 "$b" >/dev/null
  serve_in_b udp-echo udp-echo "$b" 6000 2
  in_a timeout 10 python3 "$py" udp-send "$b" 6000 100 3000
  wait "$SERVER_PID"
  in_a timeout 10 python3 "$py" udp-closed "$b" 6001
  in_a timeout 10 python3 "$py" tcp-refused "$b" 5999
  serve_in_b tcp-sink tcp-sink "$b" 5001
  in_a timeout 20 python3 "$py" tcp-send "$b" 5001 20000
  wait "$SERVER_PID"
  in_a timeout 10 python3 "$py" hostile "$a" "$b"
}

add_namespaces "$NS_A" "$NS_B" "$NS_C"
ip netns exec "$NS_B" sysctl -q -w net.ipv6.conf.all.forwarding=1
# A learns its SLAAC address from the hand-made advertisement, not a default route.
ip netns exec "$NS_A" sysctl -q -w net.ipv6.conf.default.accept_ra=1 net.ipv6.conf.default.accept_ra_defrtr=0

# veth A<->B (1500) and B<->C (1280); offloads off so the frames look as on a wire.
ip -n "$NS_A" link add vA type veth peer name vB netns "$NS_B"
ip -n "$NS_B" link add vB2 type veth peer name vC netns "$NS_C"
for side in "$NS_A:vA" "$NS_B:vB" "$NS_B:vB2" "$NS_C:vC"; do
  IFS=: read -r ns dev <<<"$side"
  ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null
done
ip -n "$NS_B" link set vB2 mtu 1280 up
ip -n "$NS_C" link set vC mtu 1280 up
# B<->C is not captured: its addresses skip duplicate address detection.
ip -n "$NS_B" addr add fd00:16::2/64 dev vB2 nodad
ip -n "$NS_C" addr add fd00:16::3/64 dev vC nodad
ip -n "$NS_C" route add fd00:15::/48 via fd00:16::2
wait_until_no_tentative "$NS_C"
# Both ends of A<->B get their addresses now but a carrier only when vB comes up, after the
# captures start: so duplicate address detection and the first MLD reports are recorded.
ip -n "$NS_B" addr add fd00:15::2/64 dev vB
ip -n "$NS_A" addr add fd00:15::1/64 dev vA
ip -n "$NS_A" link set vA up

echo "recording eth.pcap, sll.pcap and sll2.pcap (veth) ..."
start_capture "$NS_A" vA "$WORK/eth.pcap"
start_capture "$NS_A" any "$WORK/sll.pcap" -y LINUX_SLL
start_capture "$NS_A" any "$WORK/sll2.pcap" -y LINUX_SLL2
ip -n "$NS_B" link set vB up
# A may take its SLAAC address (below) as the source towards C: B reaches that prefix on vB.
ip -n "$NS_B" route add fd00:15:a::/64 dev vB
ip -n "$NS_A" route add fd00:16::/64 via fd00:15::2
wait_until_no_tentative "$NS_A"
wait_until_no_tentative "$NS_B"
# The advertisement is sent again (at most 5 times) until A has made its address from it; A gets
# 3 s for each (on a loaded machine 0.5 s was sometimes too short, and the capture then held a
# second advertisement).
has_slaac_address() { ip -n "$NS_A" -6 addr show dev vA | grep -q "fd00:15:a:"; }
for ((try = 1; ; try++)); do
  in_b timeout 10 python3 "$WORK/traffic.py" router-advertisement vB fd00:15:a::
  for ((wait = 0; wait < 30; wait++)); do
    has_slaac_address && break
    sleep 0.1
  done
  if has_slaac_address; then
    break
  elif ((try == 5)); then
    echo "$0: A made no address from the router advertisement" >&2
    exit 1
  fi
done
wait_until_no_tentative "$NS_A"
common_traffic fd00:15::1 fd00:15::2
in_a timeout 10 python3 "$WORK/traffic.py" join ff02::1:2345 vA 0.5
in_a timeout 10 ping -6 -n -q -c 1 -W 2 -t 1 fd00:16::3 >/dev/null || true # time exceeded, as planned
in_a timeout 10 python3 "$WORK/traffic.py" udp-too-big fd00:16::3 6002 1400
sleep 0.3
stop_capture eth
stop_capture sll
stop_capture sll2

echo "recording raw.pcap (tun + relay) ..."
start_tun_relay
tun_up "$NS_A" tunA fd00:17::1/64 nodad
tun_up "$NS_B" tunB fd00:17::2/64 nodad
start_capture "$NS_A" tunA "$WORK/raw.pcap"
common_traffic fd00:17::1 fd00:17::2
sleep 0.3
stop_capture raw
stop_tun_relay

editcap -F pcap -T rawip6 "$WORK/raw.pcap" "$WORK/ipv6.pcap"

for name in eth sll sll2 raw ipv6; do
  install -m 644 "$WORK/$name.pcap" "$OUTDIR/$name.pcap"
  grep -h -E 'packets? captured' "$WORK/tcpdump-$name.log" 2>/dev/null | sed "s/^/$name.pcap: /" || true
done
echo "wrote $OUTDIR/{eth,sll,sll2,raw,ipv6}.pcap"
