/**
 * The application's calls between frames, beyond reading and accepting: socket options, partial
 * reads, urgent-mark checks, shutdown, abort, TCP_INFO; new connections both ways, a listener
 * opened and closed with connections queued, port conflicts; UDP sends (unicast, broadcast,
 * multicast, oversized, fragmenting), connect, multicast membership; raw sockets. Connections
 * kept for the final transfer are left alone (the application there only reads).
 *
 * Whatever these calls return is the stack's business; what the fuzzer checks is what it
 * always checks (Target.violation), plus that TCP_INFO holds no NaN.
 */
import { IPV4_ANY } from '../ip/address.js';
import type { TcpConnection } from '../tcp/connection.js';
import { listenerTcpInfo, socketTcpInfo, unconnectedTcpInfo, type TcpInfo } from '../tcp/tcp-info.js';
import { UDP_MAX_PAYLOAD } from '../udp/udp-layer.js';
import { seqAdd } from '../tcp/seq.js';
import { icmpMessage, ipv4Packet } from './frames.js';
import type { Target } from './world.js';

/** Multicast groups the UDP sockets join and send to (224.0.0.1 is never reported, RFC 2236 §6). */
export const FUZZ_GROUPS: readonly number[] = [0xe00000fb, 0xef010203, 0xe0000001];
/** A raw socket's protocol nobody else handles (RFC 3692's experimental 253). */
export const RAW_PROTOCOL = 253;
/** The UDP socket the application connects and disconnects. */
export const CONNECTED_UDP_PORT = 5000;
/** Two UDP sockets share this port with SO_REUSEPORT (a datagram goes to one, by hash)… */
export const REUSE_PORT = 7000;
/** …and two this one with SO_REUSEADDR (the last bound gets it). */
export const REUSE_ADDRESS_PORT = 7001;

/** A problem with what a call returned (the fuzzer reports it as a finding), or null. */
export function applicationActivity(target: Target): string | null {
  const dice = target.dice;
  if (!dice.chance(0.25)) return null;
  const r = dice.below(100);
  // Configurations a scenario needs, tried more often where the epoch has them.
  if (target.variant.link.queueLimit !== undefined && r < 5) return transmitQueueHeld(target);
  if (target.stack.tcp.config.challengeAckPerSecond < 100 && r >= 90) return challengeBurst(target);
  if (r < 40) return tcpActivity(target);
  if (r < 52) return connections(target);
  if (r < 84) return udpActivity(target);
  if (r < 88) return peerBurst(target);
  return rawActivity(target);
}

/** A connection the application may do anything to: not kept for the final transfer. */
function someConnection(target: Target): TcpConnection | null {
  const candidates = target.tracked.filter((t) => !t.transfer && t.connection.state !== 'CLOSED');
  return candidates.length > 0 ? target.dice.pick(candidates).connection : null;
}

function tcpActivity(target: Target): string | null {
  const dice = target.dice;
  const connection = someConnection(target);
  if (!connection) return null;
  switch (dice.below(16)) {
    case 0:
    case 1:
      target.count('tcp-info');
      return infoProblem(socketTcpInfo(connection, target.now), `TCP_INFO of ${connection.key} ${connection.state}`);
    case 2:
      target.count('tcp-info-listener');
      return (
        infoProblem(listenerTcpInfo(dice.pick(target.listeners), target.stack.tcp.config), 'TCP_INFO of a listener') ??
        infoProblem(unconnectedTcpInfo(target.stack.tcp.config), 'TCP_INFO unconnected')
      );
    case 3:
      target.count('nodelay-cork');
      if (dice.chance(0.5)) connection.setNoDelay(dice.chance(0.5));
      else connection.setCork(dice.chance(0.5));
      return null;
    case 4:
      target.count('keepalive');
      // SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT as setsockopt applies them (keepalive.ts).
      connection.setKeepalive({
        enabled: dice.chance(0.8),
        idleMs: dice.pick([500, 5_000, 60_000]),
        intervalMs: dice.pick([200, 1_000, 10_000]),
        count: dice.pick([1, 3, 9]),
      });
      return null;
    case 5:
      target.count('socket-options');
      connection.setUserTimeout(dice.pick([0, 500, 5_000, 60_000]));
      connection.setMaxSegmentSize(dice.pick([0, 88, 536, 1000, 1460]));
      connection.setNotSentLowWater(dice.pick([0, 1, 1000, 16_384]));
      connection.setTos(dice.u8());
      connection.setTtl(dice.pick([undefined, 1, 64, 255]));
      connection.setDontFragment(dice.chance(0.8));
      // TCP_KEEPINIT (bounds only an opening connection) and TCP_CONGESTION on an open one
      // (setCongestionControl: a new controller).
      connection.setHandshakeTimeout(dice.pick([0, 1_000, 75_000]));
      if (dice.chance(0.1)) connection.setCongestionControl(dice.pick(['cubic', 'newreno'] as const));
      return null;
    case 6:
      target.count('write-flags');
      connection.send(dice.bytes(dice.length(3000)), dice.pick([{ more: true }, { endOfRecord: true }, {}]));
      return null;
    case 7:
      target.count('write-bulk');
      connection.send(dice.bytes(dice.pick([20_000, 65_536])));
      return null;
    case 8:
      target.count('read-partial');
      connection.urgentMarkDistance();
      connection.receive(dice.pick([1, 100, 4096]));
      connection.urgentMarkDistance();
      return null;
    case 9:
      target.count('shutdown-write');
      connection.shutdownWrite();
      return null;
    case 10:
      target.count('shutdown-read');
      connection.shutdownRead();
      return null;
    case 11:
      target.count('abort');
      connection.abort();
      return null;
    case 12:
      target.count('close');
      connection.setLinger(dice.chance(0.3), 0);
      connection.close();
      return null;
    case 13:
      // SO_SNDBUF, which may change at any time (SO_RCVBUF only before the connection opens: connect's configure).
      target.count('send-buffer');
      connection.setSendBufferSize(dice.pick([2048, 16_384, 65_536]));
      return null;
    default:
      target.count('read');
      connection.receive();
      return null;
  }
}

/** TCP_INFO must be numbers, none of them NaN. */
function infoProblem(info: TcpInfo, what: string): string | null {
  for (const [name, value] of Object.entries(info)) {
    if (typeof value !== 'number' || Number.isNaN(value)) return `${what}: ${name} = ${String(value)}`;
  }
  return null;
}

/** New connections both ways, a short-lived listener, port conflicts, SYN floods, TIME-WAIT reopened. */
function connections(target: Target): string | null {
  const dice = target.dice;
  const tcp = target.stack.tcp;
  const keep = (connection: TcpConnection | null) => {
    if (connection && target.tracked.length < 48) target.tracked.push({ connection, intended: 'ESTABLISHED', drains: true, transfer: false });
    else connection?.close();
  };
  switch (dice.below(11)) {
    case 0:
    case 1: {
      target.count('peer-connects');
      const connection = target.passiveOpen(target.listeners[0]);
      if (connection) target.listeners[0].accept();
      keep(connection);
      return null;
    }
    case 2: {
      target.count('peer-connects-to-81');
      target.passiveOpen(target.listeners[1]); // never accepted: the accept queue fills
      return null;
    }
    case 3: {
      // connect(), its buffers set first as setsockopt before connect() sets them (berkeley.ts).
      target.count('connect');
      const receive = dice.pick([0, 4096, 65_536]);
      const send = dice.pick([0, 4096, 65_536]);
      const ephemeral = dice.chance(0.5);
      const connection = target.activeOpen(undefined, ephemeral, (c) => {
        if (receive > 0) c.setReceiveBufferSize(receive, true);
        if (send > 0) c.setSendBufferSize(send);
      });
      if (connection === null) target.count('connect-failed');
      keep(connection);
      return null;
    }
    case 4: {
      // A listener closed with connections in its queues: the queued ones are reset.
      target.count('listener-closed');
      const listener = tcp.listen(0, 82, 2);
      if (!listener.ok) return `listen on 82: ${listener.error}`;
      for (let i = dice.below(4); i > 0; i--) target.passiveOpen(listener.value);
      listener.value.close();
      return null;
    }
    case 5: {
      // (Every time when cookies are off: the full SYN queue then drops, a rarer configuration.)
      if (tcp.config.synCookies !== 'off' && !dice.chance(0.3)) return null;
      // A SYN flood on 80: the SYN queue fills (its oldest pruned once their SYN-ACKs were
      // resent), then SYN cookies or drops; a handshake or two completes in the middle of it.
      target.count('syn-flood');
      target.synFlood(target.listeners[0], 40 + dice.below(40));
      target.advance(target.now + dice.pick([100, 1_100, 3_100]));
      target.synFlood(target.listeners[0], 40 + dice.below(40));
      for (let i = dice.below(3); i > 0; i--) {
        const connection = target.passiveOpen(target.listeners[0]);
        if (connection) target.listeners[0].accept();
        keep(connection);
      }
      return null;
    }
    case 6: {
      // Handshakes to the listener nobody accepts from, their ACKs after all the SYNs: the later
      // ones find the accept queue full.
      target.count('handshake-burst');
      target.handshakeBurst(target.listeners[1], 2 + dice.below(6));
      return null;
    }
    case 8: {
      // An opening the application gives up on: connect() then, before the SYN-ACK (or after a
      // SYN, or a SYN+FIN, crossed ours), close, shutdown(SHUT_WR) or abort.
      target.count('connect-abandoned');
      const answer = dice.pick(['none', 'syn', 'syn-fin'] as const);
      const opening = target.openingConnection(answer);
      if (!opening) return null;
      if (answer === 'syn' && opening.state === 'SYN-RECEIVED' && dice.chance(0.4)) {
        // Or the simultaneous open completes: the peer acknowledges our SYN-ACK.
        target.count('simultaneous-open');
        target.peerSegment(opening, { seq: opening.rcvNxt, ack: opening.sndNxt, flags: 0x010 });
        keep((opening.state as string) === 'ESTABLISHED' ? opening : null);
        return null;
      }
      dice.pick([() => opening.close(), () => opening.shutdownWrite(), () => opening.abort()])();
      return null;
    }
    case 9:
      return relay(target);
    case 7: {
      // A new SYN on a TIME-WAIT 4-tuple (RFC 6191: accepted when newer than the old connection).
      // The connections the fuzzer holds: the layer keeps only a record of each (time-wait.ts).
      const timeWait = target.tracked.map((t) => t.connection).filter((c) => c.state === 'TIME-WAIT');
      if (timeWait.length === 0) return null;
      target.count('time-wait-reopened');
      target.reopenTimeWait(dice.pick(timeWait));
      return null;
    }
    default: {
      target.count('port-conflicts');
      const again = tcp.listen(dice.pick([0, target.ours]), dice.pick([80, 81]));
      if (again.ok) return 'a second listen on a listening port succeeded';
      const taken = target.tracked[0].connection;
      const reused = tcp.connect(target.peer, taken.remotePort, { localPort: taken.localPort });
      if (reused.ok && taken.state !== 'CLOSED') return `connect on the 4-tuple of ${taken.key} (${taken.state}) succeeded`;
      tcp.connect(0x08080808, 80); // no route from this host unless the epoch has a default route
      const active = target.tracked.find((t) => t.connection.listenerKey === null && t.connection.state !== 'CLOSED')?.connection;
      const bound = tcp.bind(dice.pick([target.ours, IPV4_ANY]), dice.pick([80, 1234, 0, active?.localPort ?? 0]), { reuseAddress: dice.chance(0.5) });
      if (bound.ok) tcp.unbind(bound.value);
      // Two sockets bound to 83 with SO_REUSEADDR (0.0.0.0 and ours): only one may listen.
      const any = tcp.bind(IPV4_ANY, 83, { reuseAddress: true });
      const ours = tcp.bind(target.ours, 83, { reuseAddress: true });
      if (any.ok && ours.ok) {
        const first = tcp.listen(IPV4_ANY, 83, 4, undefined, any.value);
        const second = tcp.listen(target.ours, 83, 4, undefined, ours.value);
        if (first.ok && second.ok) return 'two listeners on 0.0.0.0:83 and its own address:83';
        if (first.ok) first.value.close();
        if (second.ok) second.value.close();
      }
      if (any.ok) tcp.unbind(any.value);
      if (ours.ok) tcp.unbind(ours.value);
      // Five openings from ephemeral ports, then closed (with four ephemeral ports the fifth finds none).
      const openings = [0, 1, 2, 3, 4].map((i) => tcp.connect(target.peer, 9100 + i));
      for (const opening of openings) if (opening.ok) opening.value.close();
      target.link.take();
      return null;
    }
  }
}

/**
 * A relay, as a proxy pairs its two sides: when `first` is gone (TIME-WAIT or FIN-WAIT-2
 * running out, a retransmission giving up, a RST), the application at once, from the close
 * event, closes a connection opened after it or writes its last words to it. When a timer ends
 * `first`, the other's timers change while the layer's timer scan has yet to reach it (it comes
 * later in the table). Berkeley and Node sockets defer their work to the event loop; a user of
 * TcpConnection's events acts in them, as here.
 */
export function relayOnClose(target: Target, first: TcpConnection): void {
  const dice = target.dice;
  const order = first.tableOrder; // the layer forgets it before the close event
  first.events.onClose = () => {
    const later = target.tracked.filter(
      (t) => !t.transfer && t.connection.tableOrder > order && (t.connection.state === 'ESTABLISHED' || t.connection.state === 'CLOSE-WAIT'),
    );
    if (later.length === 0) return;
    target.count('relay-closed');
    const second = dice.pick(later).connection;
    if (dice.chance(0.5)) second.close();
    else second.send(dice.bytes(1 + dice.below(2000)));
  };
}

/** A relay (relayOnClose) on a connection not yet paired. */
function relay(target: Target): string | null {
  const unpaired = target.tracked.filter((t) => !t.transfer && t.connection.tableOrder >= 0 && t.connection.events.onClose === undefined);
  if (unpaired.length === 0) return null;
  target.count('relay');
  relayOnClose(target, target.dice.pick(unpaired).connection);
  return null;
}

/**
 * The interface's transmit queue full across a timer (TUN with a queue limit): datagrams fill
 * it, a write on a connection with nothing in flight finds it full (the data stays unsent, the
 * probe timer armed, as Linux's tcp_check_probe_timer), and the timer fires before the queue
 * drains, so its wakeup is dropped too and counted as a resource probe (Linux's tcp_send_probe0
 * under local congestion). Time jumps straight to the timer: the stack's poll runs the timers
 * before it moves the queue to the link.
 */
function transmitQueueHeld(target: Target): string | null {
  const limit = target.variant.link.queueLimit;
  if (limit === undefined) return null;
  const fill = () => {
    const socket = target.stack.udp.open();
    for (let i = 0; i <= limit; i++) if (!socket.send(new Uint8Array(64), target.peer, 9).ok) break;
    socket.close();
  };
  // Or, on a connection with data in flight, a router's fragmentation-needed arrives while the
  // queue is full: what it sends again at the smaller size (RFC 1191 §6.3) is dropped before
  // the wire, and waits for the next chance to go.
  const busy = target.tracked.find((t) => !t.transfer && t.connection.state === 'ESTABLISHED' && t.connection.flightSize > 0)?.connection;
  if (busy && target.dice.chance(0.5)) {
    target.count('txqueue-held-pmtu');
    fill();
    target.fragmentationNeeded(busy, Math.max(600, (target.stack.ip.mtuTo(target.peer) ?? 1500) - 100));
    target.link.take();
    return null;
  }
  const idle = (c: TcpConnection) => (c.state === 'ESTABLISHED' || c.state === 'CLOSE-WAIT') && c.flightSize === 0 && c.sndWnd > 0 && c.unsentBytes === 0;
  let connection = target.tracked.find((t) => !t.transfer && idle(t.connection))?.connection ?? null;
  if (!connection) {
    // None idle with its window open: one opened for the purpose.
    connection = target.activeOpen();
    if (!connection || !idle(connection)) return null;
    if (target.tracked.length < 48) target.tracked.push({ connection, intended: 'ESTABLISHED', drains: true, transfer: false });
  }
  target.count('txqueue-held');
  fill();
  connection.send(target.dice.bytes(1 + target.dice.below(3000)));
  if (connection.persistDeadline !== Infinity) {
    target.count('txqueue-held-probe');
    target.now = Math.max(target.now, connection.persistDeadline);
    target.advance(target.now);
  }
  target.link.take();
  return null;
}

function udpActivity(target: Target): string | null {
  const dice = target.dice;
  const entry = dice.pick(target.udp);
  const socket = entry.socket;
  const subnetBroadcast = (target.ours | 0xff) >>> 0;
  switch (dice.below(8)) {
    case 0:
    case 1:
    case 2: {
      target.count('udp-send');
      socket.options.broadcast = dice.chance(0.5);
      socket.options.multicastLoop = dice.chance(0.7);
      if (dice.chance(0.2)) socket.options.ttl = dice.pick([undefined, 1, 255]);
      if (dice.chance(0.2)) socket.options.tos = dice.u8();
      const destination = dice.pick([
        target.peer,
        target.peer,
        target.ours,
        0xffffffff,
        subnetBroadcast,
        ...FUZZ_GROUPS,
        0x08080808,
        (target.ours & 0xffffff00) | dice.u8(),
        IPV4_ANY,
      ]);
      const port = dice.pick([53, 5353, CONNECTED_UDP_PORT, 9, 0, dice.u16()]);
      // One to three in a row (a full transmit queue drops the later ones).
      for (let i = 1 + dice.below(3); i > 0; i--) {
        const size = dice.pick([0, 10, 1472, 1473, 3000, 9000, UDP_MAX_PAYLOAD, UDP_MAX_PAYLOAD + 1, dice.length(2000)]);
        socket.send(new Uint8Array(size), destination, port);
      }
      return null;
    }
    case 3: {
      target.count('udp-connect');
      if (socket.connected && dice.chance(0.5)) socket.disconnect();
      else socket.connect(dice.pick([target.peer, target.peer, 0x08080808, 0xffffffff]), dice.pick([53, 9, 7]));
      socket.send(dice.bytes(dice.length(200)));
      socket.takeError();
      return null;
    }
    case 4: {
      target.count('udp-multicast');
      const group = dice.pick([...FUZZ_GROUPS, target.peer]);
      if (dice.chance(0.6)) socket.joinGroup(group);
      else socket.leaveGroup(socket.memberships.size > 0 && dice.chance(0.5) ? dice.pick([...socket.memberships]) : group); // one it joined, or any
      if (dice.chance(0.3)) socket.setMulticastInterface(dice.pick([target.ours, IPV4_ANY, target.peer]));
      return null;
    }
    case 5: {
      target.count('udp-reopen');
      const extra = target.stack.udp.open();
      extra.options.reuseAddress = dice.chance(0.5);
      extra.bind(dice.pick([IPV4_ANY, target.ours, target.peer]), dice.pick([53, 0, 7000]));
      if (dice.chance(0.5)) extra.joinGroup(dice.pick(FUZZ_GROUPS));
      extra.send(dice.bytes(8), target.peer, 7);
      extra.close();
      extra.send(dice.bytes(8), target.peer, 7);
      return null;
    }
    default: {
      target.count('udp-read');
      socket.peek();
      void socket.nextDatagramSize;
      void socket.queuedDatagrams;
      while (socket.receive());
      socket.takeError();
      return null;
    }
  }
}

/**
 * What a peer sends in a burst, no time passing: a datagram in more fragments than reassembly
 * keeps, one that reassembles to more than 65 535 bytes, a fragmented ping, an ICMP flood (the
 * unread raw ICMP socket fills), a datagram to forward too big for the next hop, in-window SYNs
 * on many connections at once (the stack-wide challenge-ACK ceiling).
 */
function peerBurst(target: Target): string | null {
  const dice = target.dice;
  switch (dice.below(6)) {
    case 0:
      target.count('burst-fragments-many');
      target.fragmentBurst('many');
      return null;
    case 1:
      target.count('burst-fragments-oversized');
      target.fragmentBurst('oversized');
      return null;
    case 2:
      target.count('burst-fragmented-ping');
      target.fragmentBurst('ping');
      return null;
    case 3:
      if (target.raw.length === 0) return null;
      target.count('burst-icmp-flood');
      for (let i = 0; i < 160; i++)
        target.deliverIp(
          ipv4Packet(
            { source: target.peer, destination: target.ours, protocol: 1 },
            icmpMessage({ kind: 'echoRequest', identifier: 1, sequence: i, data: new Uint8Array(1400) }),
          ),
        );
      target.link.take();
      return null;
    case 4:
      target.count('burst-forward');
      for (const ttl of [64, 1])
        target.deliverIp(ipv4Packet({ source: target.peer, destination: 0xc0a80909, protocol: 17, dontFragment: true, ttl }, new Uint8Array(1400))); // 192.168.9.9: the route with MTU 1280
      return null;
    default:
      return challengeBurst(target);
  }
}

/**
 * In-window SYNs and ACKs of data never sent, five of each on every connection at once: each
 * asks for a challenge ACK (RFC 5961 §4.2, §5.2), more than a stack-wide ceiling of a few a
 * second allows (TcpConfig.challengeAckPerSecond, Linux's tcp_challenge_ack_limit: at most 1.5
 * times the limit in a second) even when one connection is left.
 */
function challengeBurst(target: Target): string | null {
  target.count('burst-challenges');
  for (let round = 0; round < 5; round++) {
    for (const { connection } of target.tracked) {
      if (!connection.synchronized || connection.state === 'TIME-WAIT' || target.isTransfer(connection)) continue;
      target.peerSegment(connection, { seq: seqAdd(connection.rcvNxt, 1), ack: 0, flags: 0x002 });
      if (connection.synchronized) target.peerSegment(connection, { seq: connection.rcvNxt, ack: seqAdd(connection.sndNxt, 1000), flags: 0x010 });
    }
  }
  return null;
}

function rawActivity(target: Target): string | null {
  const dice = target.dice;
  if (dice.chance(0.3)) {
    // ping (the ICMP layer's echo API; replies reach the listener installed at setup).
    target.count('ping');
    target.stack.icmp.sendEchoRequest(
      dice.pick([target.peer, target.peer, 0x08080808, 0xffffffff]),
      dice.u16(),
      dice.u16(),
      dice.bytes(dice.length(1000)),
      target.now,
      dice.pick([undefined, 1]),
    );
    return null;
  }
  if (target.raw.length === 0) return null;
  const index = dice.below(target.raw.length);
  const socket = target.raw[index];
  switch (dice.below(5)) {
    case 4: {
      target.count('raw-reopen');
      socket.close();
      target.raw[index] = target.stack.raw.open(socket.protocol);
      return null;
    }
    case 0: {
      target.count('raw-send');
      const payload =
        socket.protocol === 1
          ? icmpMessage({ kind: 'echoRequest', identifier: dice.u16(), sequence: dice.u16(), data: dice.bytes(dice.length(100)) })
          : dice.bytes(dice.length(3000));
      socket.ttl = dice.pick([undefined, 1, 64]);
      socket.send(payload, dice.pick([target.peer, target.ours, 0x08080808, IPV4_ANY]));
      return null;
    }
    case 1: {
      target.count('raw-send-header');
      socket.headerIncluded = true;
      const packet = ipv4Packet(
        { source: dice.pick([0, target.ours, target.peer]), destination: dice.pick([target.peer, 0x08080808]), protocol: socket.protocol },
        dice.bytes(dice.length(200)),
      );
      socket.send(dice.chance(0.9) ? packet : packet.subarray(0, dice.below(packet.length)));
      socket.headerIncluded = false;
      return null;
    }
    default:
      target.count('raw-read');
      void socket.nextDatagramSize;
      while (socket.receive());
      return null;
  }
}
