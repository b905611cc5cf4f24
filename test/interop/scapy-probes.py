#!/usr/bin/python3
"""Packets crafted with scapy against ustack (issue 11), run inside the kernel's namespace.

  scapy-probes.py TARGET IFACE PROBE...

TARGET is `ustack` (packets go out IFACE, the namespace's end of ustack's TUN device, from
10.77.0.50/.51 — addresses in the subnet the kernel does not own, so it neither answers nor
forwards what ustack sends back) or `linux` (the same packets looped through `lo` to the
kernel's own 10.77.0.1, as the reference). Packets are written and read with AF_PACKET sockets,
so that nothing in the kernel fixes a checksum or a length on the way.

Each PROBE prints one JSON line {"probe": name, ...} of what it observed. Every probe is bounded
in packets and in time (≤ a few seconds). Needs root and scapy 2.5 (Debian's /usr/bin/python3).
"""
import json, random, socket, struct, subprocess, sys, threading, time

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption, fragment
from scapy.packet import Raw

ETH_P_ALL, ETH_P_IP, PACKET_OUTGOING = 0x0003, 0x0800, 4

target, iface, probes = sys.argv[1], sys.argv[2], sys.argv[3:]
LINUX = target == "linux"
if LINUX:
    # From a network routed to lo: the kernel's answers loop back, where forwarding is off and
    # they die (no ICMP either); a source of its own would be a martian (fib_validate_source).
    iface = "lo"
    ATTACKER, OTHER_ATTACKER, VICTIM = "10.99.0.50", "10.99.0.51", "10.77.0.1"
    subprocess.run(["ip", "route", "replace", "10.99.0.0/24", "dev", "lo"], check=True)
else:
    ATTACKER, OTHER_ATTACKER, VICTIM = "10.77.0.50", "10.77.0.51", "10.77.0.2"
ROUTER = "10.77.0.1"  # the source of ICMP errors "from the path"


class Wire:
    """Writes IP packets onto the interface and records every packet that comes back."""

    def __init__(self):
        self.out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.inp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.inp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.inp.bind((iface, ETH_P_ALL))
        self.inp.settimeout(0.05)
        self.link_header = b"\0" * 12 + struct.pack("!H", ETH_P_IP) if LINUX else b""
        self.sent = set()
        self.received = []  # IP packets, in order
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        while not self.stopping:
            try:
                data, address = self.inp.recvfrom(70000)
            except socket.timeout:
                continue
            if address[2] == PACKET_OUTGOING:
                continue
            data = data[len(self.link_header):]
            if data in self.sent or len(data) < 20 or data[0] >> 4 != 4:
                continue  # (on lo, what we sent comes back in)
            with self.lock:
                self.received.append(IP(data))

    def send(self, packet):
        data = bytes(packet)
        if LINUX:
            self.sent.add(data)
        self.out.sendto(self.link_header + data, (iface, ETH_P_IP))

    def mark(self):
        with self.lock:
            return len(self.received)

    def since(self, mark, match=lambda p: True):
        with self.lock:
            return [p for p in self.received[mark:] if match(p)]

    def wait(self, mark, match, timeout=1.0, count=1):
        """The packets after `mark` that `match`, once there are `count` of them or time ran out."""
        deadline = time.time() + timeout
        while True:
            found = self.since(mark, match)
            if len(found) >= count or time.time() > deadline:
                return found
            time.sleep(0.005)


wire = Wire()


def icmp_from_victim(p, type_=None):
    return ICMP in p and p[IP].src == VICTIM and (type_ is None or p[ICMP].type == type_)


def echo_replies(mark, ident, timeout=0.5):
    return wire.wait(mark, lambda p: icmp_from_victim(p, 0) and p[ICMP].id == ident, timeout)


def ping(payload=b"x" * 32, ident=None, code=0, options=None, src=ATTACKER, flags=0):
    ident = ident if ident is not None else random.randrange(1, 0xFFFF)
    ip = IP(src=src, dst=VICTIM, flags=flags, id=random.randrange(1, 0xFFFF))
    if options is not None:
        ip.options = options
    mark = wire.mark()
    wire.send(ip / ICMP(type=8, code=code, id=ident, seq=1) / Raw(payload))
    return mark, ident


def quiet(mark, timeout=0.4):
    """Everything the victim sent after `mark` within `timeout` (expected: nothing)."""
    time.sleep(timeout)
    return [p.summary() for p in wire.since(mark, lambda p: p[IP].src == VICTIM)]


def ip_with_bytes(packet, edit):
    """`packet` built, then its bytes changed by `edit` (bytearray → None)."""
    data = bytearray(bytes(packet))
    edit(data)
    return data


def ipv4_checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), bytes(header)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def fix_ip_checksum(data):
    length = (data[0] & 0x0F) * 4
    data[10:12] = b"\0\0"
    data[10:12] = struct.pack("!H", ipv4_checksum(data[:length]))


# ---- TCP: scapy as a whole peer ---------------------------------------------------------------


class TcpPeer:
    """One TCP connection to the victim's port, played by scapy from ATTACKER."""

    def __init__(self, port=80):
        self.port = port
        self.sport = random.randrange(20000, 60000)
        self.snd_nxt = random.randrange(0, 1 << 32)  # what the victim calls RCV.NXT
        self.rcv_nxt = None  # what the victim calls SND.NXT, as far as we acknowledged it

    def mine(self, p):
        return TCP in p and p[IP].src == VICTIM and p[TCP].sport == self.port and p[TCP].dport == self.sport

    def send(self, flags, seq=None, ack=None, payload=b"", window=65535, options=()):
        seq = self.snd_nxt if seq is None else seq
        ack = (self.rcv_nxt or 0) if ack is None else ack
        packet = IP(src=ATTACKER, dst=VICTIM, flags="DF") / TCP(sport=self.sport, dport=self.port, flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, window=window, options=list(options))
        if payload:
            packet = packet / Raw(payload)
        wire.send(packet)

    def handshake(self):
        mark = wire.mark()
        self.send("S", options=[("MSS", 1460)])
        synack = wire.wait(mark, lambda p: self.mine(p) and p[TCP].flags == "SA")
        if not synack:
            raise RuntimeError("no SYN-ACK from %s:%d" % (VICTIM, self.port))
        self.snd_nxt += 1
        self.rcv_nxt = synack[0][TCP].seq + 1
        self.send("A")

    def segments(self, mark, match=lambda t: True):
        return wire.since(mark, lambda p: self.mine(p) and match(p[TCP]))

    def echo(self, data, timeout=1.0, acknowledge=True):
        """Sends `data`, waits for it echoed; acknowledges what came back. Returns the bytes."""
        mark = wire.mark()
        self.send("PA", payload=data)
        self.snd_nxt += len(data)
        got = {}
        # Only data past what we acknowledged is the echo: a late retransmission of older data
        # (the victim's RTO firing on a loaded machine) is not part of it.
        start = self.rcv_nxt or 0
        is_new = lambda t: len(t.payload) > 0 and ((t.seq - start) & 0xFFFFFFFF) < (1 << 31)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p in self.segments(mark, is_new):
                got[p[TCP].seq] = bytes(p[TCP].payload)
            if sum(len(v) for v in got.values()) >= len(data):
                break
            time.sleep(0.005)
        received = b"".join(got[s] for s in sorted(got))
        if acknowledge and got:
            self.rcv_nxt = max(s + len(v) for s, v in got.items())
            self.send("A")
        return received, got

    def alive(self):
        """Whether data still echoes (and was not answered with a RST)."""
        mark = wire.mark()
        echoed, _ = self.echo(b"still-here")
        resets = self.segments(mark, lambda t: "R" in t.flags)
        return echoed == b"still-here" and not resets

    def close(self):
        self.send("RA")


def challenge_acks(peer, mark, timeout=0.4):
    time.sleep(timeout)
    return [p for p in peer.segments(mark) if p[TCP].flags == "A" and len(p[TCP].payload) == 0]


# ---- the probes -------------------------------------------------------------------------------

results = {}


def probe(function):
    results[function.__name__.replace("_", "-")] = function
    return function


@probe
def echo_code():
    """Echo Request with code 5: answered whatever its code (RFC 1122 §3.2.2.6)."""
    mark, ident = ping(code=5)
    replies = echo_replies(mark, ident)
    return {"replies": len(replies), "code": replies[0][ICMP].code if replies else None}


def source_route(option_type):
    # Unexhausted: pointer 4, one hop left (RFC 791 §3.1).
    option = IPOption(bytes([option_type, 7, 4]) + socket.inet_aton("10.77.0.60"))
    mark, ident = ping(options=[option])
    return {"answered": quiet(mark)}


@probe
def lsrr():
    return source_route(0x83)


@probe
def ssrr():
    return source_route(0x89)


@probe
def rr_pointer():
    """Record Route with pointer 2 (below its minimum of 4): Parameter Problem naming the octet."""
    option = IPOption(bytes([7, 7, 2]) + b"\0" * 4)
    mark, ident = ping(options=[option])
    problems = wire.wait(mark, lambda p: icmp_from_victim(p, 12), 0.5)
    time.sleep(0.1)
    return {
        "parameterProblems": len(problems),
        "pointer": problems[0][ICMP].ptr if problems else None,
        "echoReplies": len(wire.since(mark, lambda p: icmp_from_victim(p, 0))),
    }


@probe
def udp_unreachable_rate():
    """200 datagrams to a closed UDP port within ~0.5 s: how many port unreachables come back."""
    mark = wire.mark()
    started = time.time()
    for i in range(200):
        wire.send(IP(src=ATTACKER, dst=VICTIM) / UDP(sport=40000, dport=9) / Raw(b"%d" % i))
        time.sleep(0.0015)
    sent_in = time.time() - started
    time.sleep(0.3)
    unreachable = wire.since(mark, lambda p: icmp_from_victim(p, 3) and p[ICMP].code == 3)
    return {"sent": 200, "seconds": round(sent_in, 2), "portUnreachable": len(unreachable)}


@probe
def ipid_atomic():
    """IP IDs of an echo reply to a DF ping and of a RST, with DF on each."""
    mark, ident = ping(flags="DF")
    replies = echo_replies(mark, ident)
    mark = wire.mark()
    sport = random.randrange(20000, 60000)
    wire.send(IP(src=ATTACKER, dst=VICTIM, flags="DF") / TCP(sport=sport, dport=81, flags="S", seq=1))
    resets = wire.wait(mark, lambda p: TCP in p and p[IP].src == VICTIM and p[TCP].dport == sport and "R" in p[TCP].flags, 0.5)
    describe = lambda p: {"id": p[IP].id, "df": bool(p[IP].flags.DF)}
    return {"echoReply": describe(replies[0]) if replies else None, "reset": describe(resets[0]) if resets else None}


@probe
def ipid_fragmented():
    """Large pings without DF from two sources: the fragmented replies' IDs, per destination."""
    ids = {}
    for source in [ATTACKER, OTHER_ATTACKER, ATTACKER, OTHER_ATTACKER]:
        ident = random.randrange(1, 0xFFFF)
        mark = wire.mark()
        datagram = IP(src=source, dst=VICTIM, id=random.randrange(1, 0xFFFF)) / ICMP(type=8, id=ident) / Raw(b"y" * 3000)
        for piece in fragment(datagram, fragsize=1400):
            wire.send(piece)
        pieces = wire.wait(mark, lambda p: p[IP].src == VICTIM and p[IP].dst == source and (p[IP].flags.MF or p[IP].frag > 0), 0.5, count=3)
        ids.setdefault(source, []).append(sorted({p[IP].id for p in pieces}))
    return {"ids": ids}


def syn_probe(option_bytes=b"\x02\x04\x05\xb4", flags="S", port=80):
    """A SYN (options given as bytes, a multiple of 4) to a listening port: what answers it."""
    sport = random.randrange(20000, 60000)
    header = TCP(sport=sport, dport=port, flags=flags, seq=1000, window=65535, dataofs=5 + len(option_bytes) // 4, options=[])
    mark = wire.mark()
    wire.send(IP(src=ATTACKER, dst=VICTIM) / header / Raw(option_bytes))
    answers = syn_answers(mark, sport)
    return {"answers": [str(p[TCP].flags) for p in answers], "mss": next((v for p in answers for k, v in p[TCP].options if k == "MSS"), None)}


@probe
def syn_fin():
    return syn_probe(flags="SF")


@probe
def syn_mss_length_3():
    """A SYN whose MSS option has length 3 (it must be 4), then a NOP."""
    return syn_probe(b"\x02\x03\x05\x01")


@probe
def syn_option_past_header():
    """A SYN with MSS 1400, then a timestamp option claiming 10 bytes where 4 are left."""
    return syn_probe(b"\x02\x04\x05\x78\x08\x0a\x00\x00")


# -- RFC 5961 on an established connection (ustack only: Linux's own is a kernel listener) --


@probe
def rst_in_window():
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    peer.send("R", seq=peer.snd_nxt + 1000)
    acks = challenge_acks(peer, mark)
    time.sleep(0.2)
    return {"challengeAcks": len(acks), "ackedRcvNxt": bool(acks) and acks[0][TCP].seq == peer.rcv_nxt, "alive": peer.alive()}


@probe
def rst_exact():
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    peer.send("R", seq=peer.snd_nxt)
    time.sleep(0.3)
    answered = [str(p[TCP].flags) for p in peer.segments(mark)]
    mark = wire.mark()
    peer.send("PA", payload=b"after the reset")
    time.sleep(0.3)
    return {"answeredReset": answered, "answeredDataAfter": [str(p[TCP].flags) for p in peer.segments(mark)]}


@probe
def syn_in_window():
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    peer.send("S", seq=peer.snd_nxt + 1000, ack=0)
    acks = challenge_acks(peer, mark)
    time.sleep(0.2)
    return {"challengeAcks": len(acks), "resets": len(peer.segments(mark, lambda t: "R" in t.flags)), "alive": peer.alive()}


@probe
def ack_unsent():
    """An ACK for data never sent, carrying data: answered with an ACK, its data dropped."""
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    peer.send("PA", payload=b"forged", ack=peer.rcv_nxt + 100000)
    acks = challenge_acks(peer, mark)
    echoed = [bytes(p[TCP].payload) for p in peer.segments(mark, lambda t: len(t.payload) > 0)]
    time.sleep(0.3)
    # The stream continues where it was: the next bytes at the same sequence number are taken.
    return {"challengeAcks": len(acks), "ackFor": (acks[0][TCP].ack - peer.snd_nxt) if acks else None, "echoedForged": echoed, "alive": peer.alive()}


@probe
def out_of_window_burst():
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    started = time.time()
    for i in range(100):
        peer.send("A", seq=peer.snd_nxt + 10_000_000 + i)
    seconds = time.time() - started
    answers = challenge_acks(peer, mark, 0.3)
    return {"sent": 100, "seconds": round(seconds, 2), "burstAnswers": len(answers), "alive": peer.alive()}


@probe
def rst_burst():
    peer = TcpPeer()
    peer.handshake()
    mark = wire.mark()
    started = time.time()
    for i in range(100):
        peer.send("R", seq=peer.snd_nxt + 1 + i * 100)
    seconds = time.time() - started
    answers = challenge_acks(peer, mark, 0.3)
    return {"sent": 100, "seconds": round(seconds, 2), "burstAnswers": len(answers), "alive": peer.alive()}


# -- RFC 5927: ICMP errors about a connection --


def quote_of(segment, seq=None):
    """The first 28 bytes of a segment the victim sent, its sequence number replaced."""
    data = bytearray(bytes(segment[IP]))[:28]
    if seq is not None:
        header = (data[0] & 0x0F) * 4
        data[header + 4:header + 8] = struct.pack("!I", seq & 0xFFFFFFFF)
    return bytes(data)


def unacknowledged_echo(peer, size):
    """The victim's echo of `size` bytes, left unacknowledged so that it stays in flight."""
    _, got = peer.echo(bytes(random.getrandbits(8) for _ in range(size)), acknowledge=False)
    first = min(got)
    return first, next(p for p in peer.segments(0) if p[TCP].seq == first and len(p[TCP].payload) > 0)


@probe
def icmp_frag_needed():
    peer = TcpPeer()
    peer.handshake()
    seq, segment = unacknowledged_echo(peer, 1400)
    frag_needed = lambda quoted: IP(src=ROUTER, dst=VICTIM) / ICMP(type=3, code=4, nexthopmtu=1280) / Raw(quoted)
    mark = wire.mark()
    wire.send(frag_needed(quote_of(segment, seq - 100000)))
    time.sleep(0.05)
    resent_after_forged = [len(p[TCP].payload) for p in peer.segments(mark, lambda t: len(t.payload) > 0)]
    mark = wire.mark()
    wire.send(frag_needed(quote_of(segment)))
    time.sleep(0.15)
    resent = [(p[TCP].seq - seq, len(p[TCP].payload)) for p in peer.segments(mark, lambda t: len(t.payload) > 0)]
    peer.rcv_nxt = seq + 1400
    peer.send("A")
    return {"echoed": len(segment[TCP].payload), "resentAfterOutOfWindow": resent_after_forged, "resentAfterValid": resent, "alive": peer.alive()}


@probe
def icmp_port_unreachable():
    peer = TcpPeer()
    peer.handshake()
    seq, segment = unacknowledged_echo(peer, 100)
    wire.send(IP(src=ATTACKER, dst=VICTIM) / ICMP(type=3, code=3) / Raw(quote_of(segment)))
    time.sleep(0.1)
    peer.rcv_nxt = seq + 100
    peer.send("A")
    return {"alive": peer.alive()}


# -- fragments --


def fragments_of(datagram, pieces):
    """`datagram`'s IP payload cut as `pieces` = [(offset in bytes, length, more fragments)]."""
    header = IP(bytes(datagram))
    payload = bytes(header.payload)
    return [IP(src=header.src, dst=header.dst, id=header.id, proto=header.proto, flags="MF" if more else 0, frag=offset // 8) / Raw(payload[offset:offset + length]) for offset, length, more in pieces]


def echo_datagram(size=56, ident=None):
    ident = ident if ident is not None else random.randrange(1, 0xFFFF)
    return IP(src=ATTACKER, dst=VICTIM, id=random.randrange(1, 0xFFFF)) / ICMP(type=8, id=ident) / Raw(bytes(range(size))), ident


def send_and_listen(packets, ident):
    mark = wire.mark()
    for packet in packets:
        wire.send(packet)
    time.sleep(0.3)
    return {"echoReplies": len(wire.since(mark, lambda p: icmp_from_victim(p, 0) and p[ICMP].id == ident)), "answered": [p.summary() for p in wire.since(mark, lambda p: p[IP].src == VICTIM)]}


@probe
def fragment_overlap():
    """Two fragments overlapping by 8 bytes, then the same datagram cut cleanly (new ID)."""
    datagram, ident = echo_datagram(56)  # 64 bytes of ICMP
    overlapping = send_and_listen(fragments_of(datagram, [(0, 24, True), (16, 48, False)]), ident)
    datagram, ident = echo_datagram(56)
    clean = send_and_listen(fragments_of(datagram, [(0, 24, True), (24, 40, False)]), ident)
    return {"overlapping": overlapping, "clean": clean}


@probe
def teardrop():
    """Teardrop as teardrop.c sends it: 36 bytes at offset 0 with MF (not a multiple of 8), then
    a last fragment of 4 bytes at offset 24 — inside the first."""
    datagram, ident = echo_datagram(28)  # 36 bytes of ICMP
    return send_and_listen(fragments_of(datagram, [(0, 36, True), (24, 4, False)]), ident)


@probe
def teardrop_aligned():
    """The same with a first fragment of 40 bytes, so that only the overlap is wrong."""
    datagram, ident = echo_datagram(32)  # 40 bytes of ICMP
    return send_and_listen(fragments_of(datagram, [(0, 40, True), (24, 4, False)]), ident)


@probe
def ping_of_death():
    """An echo request whose fragments reassemble past 65,535 bytes."""
    ident = random.randrange(1, 0xFFFF)
    payload = bytes(ICMP(type=8, id=ident) / Raw(b"\xaa" * 65_600))  # (checksum irrelevant: never reassembled)
    ip_id = random.randrange(1, 0xFFFF)
    packets = []
    for offset in range(0, len(payload), 1480):
        piece = payload[offset:offset + 1480]
        more = offset + len(piece) < len(payload)
        packets.append(IP(src=ATTACKER, dst=VICTIM, id=ip_id, proto=1, flags="MF" if more else 0, frag=offset // 8) / Raw(piece))
    result = send_and_listen(packets, ident)
    result["fragments"] = len(packets)
    result["lastEnd"] = packets[-1].frag * 8 + len(packets[-1][Raw].load) + 20
    return result


def syn_segment(port=80):
    sport = random.randrange(20000, 60000)
    return IP(src=ATTACKER, dst=VICTIM, id=random.randrange(1, 0xFFFF)) / TCP(sport=sport, dport=port, flags="S", seq=1000, options=[("MSS", 1460)]), sport


def syn_answers(mark, sport):
    """What the victim sent to `sport` within 0.3 s; a SYN-ACK is reset, to free the SYN queue."""
    time.sleep(0.3)
    answers = wire.since(mark, lambda p: TCP in p and p[IP].src == VICTIM and p[TCP].dport == sport)
    for p in answers:
        if p[TCP].flags == "SA":
            wire.send(IP(src=ATTACKER, dst=VICTIM) / TCP(sport=sport, dport=p[TCP].sport, flags="R", seq=p[TCP].ack))
    return answers


@probe
def tiny_fragment():
    """A SYN whose first fragment holds 8 bytes (ports and sequence number; flags in the second)."""
    segment, sport = syn_segment()
    mark = wire.mark()
    for packet in fragments_of(segment, [(0, 8, True), (8, 16, False)]):
        wire.send(packet)
    return {"answers": [str(p[TCP].flags) for p in syn_answers(mark, sport)]}


@probe
def fragment_offset_1():
    """RFC 1858 §3.2: a pure ACK's header cut at 16 bytes, then a fragment at offset 8 (fragment
    offset 1) rewriting the flags to SYN — overlapping the first."""
    segment, sport = syn_segment()
    ack = bytes(IP(bytes(segment)))
    benign = bytearray(ack)
    benign[20 + 13] = 0x10  # ACK instead of SYN
    first = fragments_of(IP(bytes(benign)), [(0, 16, True)])[0]
    second = fragments_of(segment, [(8, 16, False)])[0]
    mark = wire.mark()
    wire.send(first)
    wire.send(second)
    return {"answers": [str(p[TCP].flags) for p in syn_answers(mark, sport)]}


@probe
def fragment_flood():
    """5,000 first fragments (1,024 bytes, MF) of datagrams that never complete."""
    started = time.time()
    mark = wire.mark()
    template = bytearray(bytes(IP(src=ATTACKER, dst=VICTIM, proto=17, flags="MF") / Raw(b"\x55" * 1024)))
    for i in range(5000):
        template[4:6] = struct.pack("!H", i + 1)
        fix_ip_checksum(template)
        wire.send(bytes(template))
        if i % 50 == 49:
            time.sleep(0.004)  # (the TUN device's queue holds 500 packets)
    seconds = time.time() - started
    return {"sent": 5000, "seconds": round(seconds, 2), "answered": len(quiet(mark, 0.3))}


# -- malformed headers: each would otherwise be answered (an echo reply, a SYN-ACK, a port
# unreachable), so silence means it was dropped --


def send_raw(data):
    mark = wire.mark()
    wire.send(bytes(data))
    return {"answered": quiet(mark, 0.3)}


@probe
def ip_header_length_4():
    packet, _ = echo_datagram()

    def edit(data):
        data[0] = 0x44
        fix_ip_checksum(data)

    return send_raw(ip_with_bytes(packet, edit))


@probe
def ip_total_length_past_frame():
    packet, _ = echo_datagram()

    def edit(data):
        data[2:4] = struct.pack("!H", len(data) + 40)
        fix_ip_checksum(data)

    return send_raw(ip_with_bytes(packet, edit))


@probe
def ip_bad_checksum():
    packet, _ = echo_datagram()

    def edit(data):
        data[10] ^= 0x5A

    return send_raw(ip_with_bytes(packet, edit))


def tcp_syn_bytes(edit_tcp):
    segment, _ = syn_segment()
    data = bytearray(bytes(segment))
    edit_tcp(data, 20)
    return data


@probe
def tcp_data_offset_4():
    def edit(data, t):
        data[t + 12] = (4 << 4) | (data[t + 12] & 0x0F)

    return send_raw(tcp_syn_bytes(edit))


@probe
def tcp_data_offset_past_segment():
    def edit(data, t):
        data[t + 12] = (15 << 4) | (data[t + 12] & 0x0F)  # 60 bytes of header in a 24-byte segment

    return send_raw(tcp_syn_bytes(edit))


@probe
def tcp_bad_checksum():
    def edit(data, t):
        data[t + 16] ^= 0x5A

    return send_raw(tcp_syn_bytes(edit))


def udp_bytes(length_field):
    data = bytearray(bytes(IP(src=ATTACKER, dst=VICTIM) / UDP(sport=40001, dport=9) / Raw(b"z" * 16)))
    data[24:26] = struct.pack("!H", length_field)
    data[26:28] = b"\0\0"  # no checksum (RFC 768), so that only the length is wrong
    return data


@probe
def udp_length_past_datagram():
    return send_raw(udp_bytes(24 + 40))


@probe
def udp_length_below_header():
    return send_raw(udp_bytes(6))


@probe
def udp_length_short_of_datagram():
    """UDP length 12 in a 24-byte payload: Linux trims to the length and takes the datagram."""
    return send_raw(udp_bytes(12))


# ---- main -------------------------------------------------------------------------------------


def echo_forever(listener):
    def serve(connection):
        with connection:
            while True:
                data = connection.recv(65536)
                if not data:
                    return
                connection.sendall(data)

    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if LINUX:
    # An echo server of the kernel's on port 80 and nothing on 81 or UDP 9, as on ustack's side.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((VICTIM, 80))
    listener.listen(64)
    threading.Thread(target=echo_forever, args=(listener,), daemon=True).start()

for name in probes:
    started = time.time()
    try:
        observed = results[name]()
    except Exception as error:  # reported, so that the test shows what failed
        observed = {"error": "%s: %s" % (type(error).__name__, error)}
    observed = {"probe": name, **observed, "ms": round((time.time() - started) * 1000)}
    print(json.dumps(observed), flush=True)
wire.stopping = True
