#!/usr/bin/env python3
"""The kernel's end of the interop tests: small TCP servers run inside the namespace.

  peer.py sink ADDRESS PORT            accept one connection, read to EOF, print "<bytes> <sha256>"
  peer.py source ADDRESS PORT BYTES    accept one connection, send BYTES pseudo-random bytes, close;
                                       print "<bytes> <sha256>" of what was sent
  peer.py exchange ADDRESS PORT BYTES  both at once: send BYTES while reading to EOF; print
                                       "<sent> <sha256 sent> <received> <sha256 received>"

  peer.py udp-echo ADDRESS PORT COUNT  echo COUNT UDP datagrams back to their senders, then exit
  peer.py clients ADDRESS PORT COUNT BYTES   COUNT concurrent TCP clients, each sends BYTES and
                                       expects them echoed; print "ok <n> failed <m>"
  peer.py sequential-clients ADDRESS PORT COUNT BYTES   the same, one connection after another
  peer.py echo-server ADDRESS PORT COUNT     asyncio TCP echo server; exits after COUNT connections
                                       ended, printing "served <n> bytes <total>"
  peer.py request-loop ADDRESS PORT SECONDS INTERVAL_MS [TIMEOUT_S]   a legitimate client while
                                       something else happens: a new connection every INTERVAL_MS for
                                       SECONDS (or until SIGTERM), each sends 16 bytes and expects
                                       them echoed within TIMEOUT_S (3) s; prints "ok <n> failed <m>"
                                       and the slowest

Each prints "listening" (flushed) once it listens, then its result line. It also prints the
TCP_INFO options of the connection: "options sack=<0|1> timestamps=<0|1> wscale=<snd>,<rcv>".
"""
import hashlib, random, socket, struct, sys, threading

mode, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 0

import asyncio, resource

# Many connections need many descriptors.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def clients():
    size = int(sys.argv[5])

    async def one(index):
        payload = bytes((index + i) & 0xFF for i in range(size))
        reader, writer = await asyncio.open_connection(address, port)
        writer.write(payload)
        await writer.drain()
        echoed = await reader.readexactly(size)
        writer.close()
        await writer.wait_closed()
        return echoed == payload

    print("listening", flush=True)  # (nothing to wait for: clients start at once)
    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    good = sum(1 for r in results if r is True)
    errors = sorted({type(r).__name__ for r in results if r is not True})
    print("ok %d failed %d %s" % (good, count - good, ",".join(errors)), flush=True)


async def echo_server():
    done = asyncio.Event()
    state = {"served": 0, "bytes": 0}

    async def handle(reader, writer):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            state["bytes"] += len(data)
            writer.write(data)
            await writer.drain()
        writer.close()
        state["served"] += 1
        if state["served"] == count:
            done.set()

    server = await asyncio.start_server(handle, address, port, backlog=1024)
    print("listening", flush=True)
    await done.wait()
    server.close()
    print("served %d bytes %d" % (state["served"], state["bytes"]), flush=True)


if mode == "clients":
    asyncio.run(clients())
    sys.exit(0)
if mode == "sequential-clients":
    size, good, errors = int(sys.argv[5]), 0, set()
    print("listening", flush=True)  # (nothing to wait for: clients start at once)
    for index in range(count):
        payload = bytes((index + i) & 0xFF for i in range(size))
        try:
            with socket.create_connection((address, port), timeout=10) as client:
                client.sendall(payload)
                client.shutdown(socket.SHUT_WR)
                echoed = b""
                while len(echoed) <= size:
                    chunk = client.recv(65536)
                    if not chunk:
                        break
                    echoed += chunk
                good += echoed == payload
        except OSError as error:
            errors.add(type(error).__name__)
    print("ok %d failed %d %s" % (good, count - good, ",".join(sorted(errors))), flush=True)
    sys.exit(0)
if mode == "echo-server":
    asyncio.run(echo_server())
    sys.exit(0)
if mode == "request-loop":
    import signal, time
    seconds, interval = float(sys.argv[4]), float(sys.argv[5]) / 1000
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 3.0
    good, bad, slowest, errors = 0, 0, 0.0, set()
    print("listening", flush=True)
    end = time.monotonic() + seconds
    stop = []
    # SIGTERM ends the loop after the request under way, and the results are still printed.
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    while time.monotonic() < end and not stop:
        started = time.monotonic()
        payload = b"legitimate %05d" % ((good + bad) % 100000)
        try:
            with socket.create_connection((address, port), timeout=timeout) as client:
                client.sendall(payload)
                echoed = b""
                while len(echoed) < len(payload):
                    chunk = client.recv(64)
                    if not chunk:
                        break
                    echoed += chunk
            if echoed == payload:
                good += 1
            else:
                bad += 1
                errors.add("short")
        except OSError as error:
            bad += 1
            errors.add(type(error).__name__)
        took = time.monotonic() - started
        slowest = max(slowest, took)
        time.sleep(max(0.0, interval - took))
    print("ok %d failed %d slowest %.3f %s" % (good, bad, slowest, ",".join(sorted(errors))), flush=True)
    sys.exit(0)

if mode == "udp-echo":
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, port))
    print("listening", flush=True)
    for _ in range(count):
        datagram, sender = udp.recvfrom(65535)
        udp.sendto(datagram, sender)
        print("echoed %d" % len(datagram), flush=True)
    sys.exit(0)

# An IPv6 address (pmtu-tap.test.ts) listens on AF_INET6; the rest on AF_INET.
server = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(1)
print("listening", flush=True)
connection, _ = server.accept()


def options():
    # struct tcp_info: state, ca_state, retransmits, probes, backoff, options, wscale byte.
    info = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    opts, wscale = info[5], info[6]
    return "options sack=%d timestamps=%d wscale=%d,%d" % (bool(opts & 2), bool(opts & 1), wscale & 15, wscale >> 4)


def send_all():
    generator = random.Random(count)
    digest, left = hashlib.sha256(), count
    while left > 0:
        chunk = generator.randbytes(min(left, 1 << 16))
        connection.sendall(chunk)
        digest.update(chunk)
        left -= len(chunk)
    connection.shutdown(socket.SHUT_WR)
    return "%d %s" % (count, digest.hexdigest())


def read_all():
    digest, total = hashlib.sha256(), 0
    while True:
        chunk = connection.recv(1 << 16)
        if not chunk:
            return "%d %s" % (total, digest.hexdigest())
        digest.update(chunk)
        total += len(chunk)


if mode == "sink":
    print(read_all(), flush=True)
elif mode == "source":
    print(send_all(), flush=True)
    connection.recv(1)  # wait for the peer's FIN before closing
elif mode == "exchange":
    result = {}
    sender = threading.Thread(target=lambda: result.setdefault("sent", send_all()))
    sender.start()
    received = read_all()
    sender.join()
    print("%s %s" % (result["sent"], received), flush=True)
print(options(), flush=True)
connection.close()
