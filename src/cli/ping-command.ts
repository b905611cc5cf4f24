/**
 * `ustack ping`: ping from ustack, written as a program on the stack's Berkeley API — a raw
 * ICMP socket (`socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)`) that sends echo requests it builds
 * itself (RFC 792: type 8, identifier, sequence number, checksum) and reads every ICMP datagram
 * delivered to the stack, IP header included, keeping the echo replies that carry its
 * identifier. Output and summary as iputils' ping prints them. Payloads larger than the MTU
 * leave in fragments (the stack's IP layer fragments them; the reply is reassembled).
 *
 *   sudo npx ustack ping 10.77.0.1                    the kernel's end of tun ustack0
 *   sudo npx ustack ping --netns ns 10.77.0.1 -c 3 -s 3000
 */
import { describeErrno, ErrnoError } from '../core/errno.js';
import { internetChecksum } from '../ip/checksum.js';
import { parseIpv4Address } from '../ip/address.js';
import { parseIpv6Address } from '../ip/ipv6-address.js';

/** ustack's IPv6 address on the device for `ping -6` when --addr6 is not given (the host gets ::1 in it). */
const DEFAULT_ADDR6 = 'fd00:7::2/64';
import { BerkeleySockets, type PollResult } from '../socket-api/berkeley.js';
import * as C from '../socket-api/berkeley-constants.js';
import { accepts, parseCommandLine, UsageError, type OptionSpecs } from './arguments.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceConfig, openDevice } from './device-setup.js';

/** Help text of `ustack ping`. */
export const PING_USAGE = `usage: ustack ping [device options] [-6] HOST [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT]
                                        (needs root or CAP_NET_ADMIN)
  -6                    ping over IPv6 (ICMPv6 echo, RFC 4443 §4) from a raw AF_INET6 socket;
                        the device gets --addr6 (default fd00:7::2/64, the host ::1 in it)
  -c COUNT              send COUNT requests, then wait up to TIMEOUT for the missing replies
                        (default: until Ctrl-C)
  -s SIZE               bytes of data after the 8-byte ICMP header (default 56); larger than
                        the MTU fragments
  -i INTERVAL           seconds between requests (default 1)
  -W TIMEOUT            seconds to wait for the last reply (default 2)
  --for SECONDS         stop by itself after SECONDS

device options (as ustack up; the kernel's end is what you usually ping):
${DEVICE_USAGE}`;

/** The options of `ustack ping`: iputils' names, and the device's. */
export const PING_OPTIONS = {
  ...DEVICE_OPTIONS,
  ipv6: { type: 'boolean', short: '6' },
  count: { type: 'string', short: 'c', takes: 'a COUNT (1 or more)', accepts: accepts.integer(1, Number.MAX_SAFE_INTEGER) },
  size: { type: 'string', short: 's', takes: 'a SIZE in bytes (0 to 65507)', accepts: accepts.integer(0, 65507) },
  interval: { type: 'string', short: 'i', takes: 'SECONDS', accepts: accepts.seconds },
  timeout: { type: 'string', short: 'W', takes: 'SECONDS', accepts: accepts.seconds },
  for: { type: 'string', takes: 'SECONDS', accepts: accepts.seconds },
} as const satisfies OptionSpecs;

/** Options a caller (or test) can add to the command-line arguments. */
export interface PingControls {
  /** Stops the command when aborted (as Ctrl-C does): the summary is printed. */
  readonly signal?: AbortSignal;
}

const ICMP_ECHO_REPLY = 0;
const ICMP_DEST_UNREACHABLE = 3;
const ICMP_ECHO_REQUEST = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_HEADER = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;
/** iputils' texts for ICMPv6 Destination Unreachable codes (RFC 4443 §3.1). */
const UNREACHABLE_TEXT6 = [
  'Destination unreachable: No route',
  'Destination unreachable: Administratively prohibited',
  'Destination unreachable: Beyond scope',
  'Destination unreachable: Address unreachable',
  'Destination unreachable: Port unreachable',
  'Destination unreachable: Source address failed ingress/egress policy',
  'Destination unreachable: Reject route to destination',
];
const UNREACHABLE_TEXT = [
  'Destination Net Unreachable',
  'Destination Host Unreachable',
  'Destination Protocol Unreachable',
  'Destination Port Unreachable',
  'Frag needed and DF set',
];

/** An echo request: type 8, code 0, checksum, identifier, sequence, then `size` bytes of data. */
export function buildEchoRequest(identifier: number, sequence: number, data: Uint8Array): Uint8Array {
  const message = new Uint8Array(ICMP_HEADER + data.length);
  message[0] = ICMP_ECHO_REQUEST;
  message[4] = identifier >>> 8;
  message[5] = identifier & 0xff;
  message[6] = (sequence >>> 8) & 0xff;
  message[7] = sequence & 0xff;
  message.set(data, ICMP_HEADER);
  const checksum = internetChecksum(message);
  message[2] = checksum >>> 8;
  message[3] = checksum & 0xff;
  return message;
}

/** An ICMPv6 echo request (RFC 4443 §4.1): type 128; the checksum is the stack's to fill (RFC 3542 §3.1). */
export function buildEchoRequest6(identifier: number, sequence: number, data: Uint8Array): Uint8Array {
  const message = new Uint8Array(ICMP_HEADER + data.length);
  message[0] = ICMPV6_ECHO_REQUEST;
  message[4] = identifier >>> 8;
  message[5] = identifier & 0xff;
  message[6] = (sequence >>> 8) & 0xff;
  message[7] = sequence & 0xff;
  message.set(data, ICMP_HEADER);
  return message;
}

/**
 * What an ICMPv6 message from a raw AF_INET6 socket (no IPv6 header: RFC 3542 §3) means to the
 * pinger with `identifier`: an echo reply, an error quoting one of our requests, or null.
 */
export function parsePingMessage6(message: Uint8Array, identifier: number, hopLimit: number): PingEvent {
  if (message.length < ICMP_HEADER) return null;
  const type = message[0];
  if (type === ICMPV6_ECHO_REPLY) {
    if (((message[4] << 8) | message[5]) !== identifier) return null;
    return { kind: 'reply', sequence: (message[6] << 8) | message[7], ttl: hopLimit, icmpBytes: message.length, data: message.subarray(ICMP_HEADER) };
  }
  if (type >= 1 && type <= 3) {
    // The invoking packet: its IPv6 header, then (no extension headers from us) our request.
    const inner = message.subarray(ICMP_HEADER);
    if (inner.length < 48 || inner[6] !== C.IPPROTO_ICMPV6) return null;
    const request = inner.subarray(40);
    if (request[0] !== ICMPV6_ECHO_REQUEST || ((request[4] << 8) | request[5]) !== identifier) return null;
    const word = ((message[4] << 24) | (message[5] << 16) | (message[6] << 8) | message[7]) >>> 0;
    const text =
      type === 2
        ? `Packet too big: mtu=${word}`
        : type === 3
          ? 'Time exceeded: Hop limit'
          : (UNREACHABLE_TEXT6[message[1]] ?? `Destination unreachable: Unknown code ${message[1]}`);
    return { kind: 'error', sequence: (request[6] << 8) | request[7], text };
  }
  return null;
}

/** What a received ICMP datagram (IP header included) means to the pinger with `identifier`. */
export type PingEvent =
  | { readonly kind: 'reply'; readonly sequence: number; readonly ttl: number; readonly icmpBytes: number; readonly data: Uint8Array }
  | { readonly kind: 'error'; readonly sequence: number; readonly text: string }
  | null;

/** Parses a raw socket's datagram: an echo reply or an ICMP error about one of our requests, or null. */
export function parsePingDatagram(packet: Uint8Array, identifier: number): PingEvent {
  if (packet.length < 20 || packet[0] >> 4 !== 4) return null;
  const headerLength = (packet[0] & 0x0f) * 4;
  const totalLength = Math.min(packet.length, (packet[2] << 8) | packet[3]);
  const icmp = packet.subarray(headerLength, totalLength);
  if (icmp.length < ICMP_HEADER || internetChecksum(icmp) !== 0) return null;
  const type = icmp[0];
  if (type === ICMP_ECHO_REPLY) {
    if (((icmp[4] << 8) | icmp[5]) !== identifier) return null;
    return { kind: 'reply', sequence: (icmp[6] << 8) | icmp[7], ttl: packet[8], icmpBytes: icmp.length, data: icmp.subarray(ICMP_HEADER) };
  }
  if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
    // The offending datagram's IP header and first 8 bytes: our echo request's header.
    const inner = icmp.subarray(ICMP_HEADER);
    if (inner.length < 20 || inner[9] !== C.IPPROTO_ICMP) return null;
    const request = inner.subarray((inner[0] & 0x0f) * 4);
    if (request.length < ICMP_HEADER || request[0] !== ICMP_ECHO_REQUEST || ((request[4] << 8) | request[5]) !== identifier) return null;
    const text = type === ICMP_TIME_EXCEEDED ? 'Time to live exceeded' : (UNREACHABLE_TEXT[icmp[1]] ?? `Dest Unreachable, Bad Code: ${icmp[1]}`);
    return { kind: 'error', sequence: (request[6] << 8) | request[7], text };
  }
  return null;
}

function formatMs(ms: number): string {
  return ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

/** Runs `ustack ping ARGS`; resolves with the exit code (0 some reply, 1 none, 2 error). */
export async function runPing(args: string[], print: (line: string) => void, controls: PingControls = {}): Promise<number> {
  const { values, positionals, help } = parseCommandLine('ping', args, PING_OPTIONS, { maxPositionals: 1 });
  if (help) {
    print(PING_USAGE.trimEnd());
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('ustack ping: which HOST? (`ustack ping --help`)');
  const host = positionals[0];
  const ipv6 = values.ipv6 === true;
  if (ipv6 ? parseIpv6Address(host) === null : parseIpv4Address(host) === null) {
    throw new UsageError(`ustack ping: HOST takes an ${ipv6 ? 'IPv6' : 'IPv4'} address, not '${host}' (there is no DNS client)`);
  }
  const count = values.count === undefined ? Infinity : Number(values.count);
  const size = values.size === undefined ? 56 : Number(values.size);
  const intervalMs = Number(values.interval ?? 1) * 1000;
  const timeoutMs = Number(values.timeout ?? 2) * 1000;
  const forMs = values.for === undefined ? Infinity : Number(values.for) * 1000;
  const config = deviceConfig('ping', ipv6 ? { ...values, addr6: values.addr6 ?? DEFAULT_ADDR6 } : values);

  const device = openDevice(config);
  let stopRequested = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopRequested = true;
    wake?.();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  controls.signal?.addEventListener('abort', stop);
  const api = new BerkeleySockets(device.stack);
  let fd = -1;
  try {
    fd = ipv6 ? api.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_ICMPV6) : api.socket(C.AF_INET, C.SOCK_RAW, C.IPPROTO_ICMP);
    const identifier = (process.pid ^ (Date.now() & 0xffff)) & 0xffff;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i + 8) & 0xff;
    const clock = device.driver.clock;
    const sentAt = new Map<number, number>();
    const answered = new Set<number>();
    const rtts: number[] = [];
    let transmitted = 0;
    let errors = 0;
    let duplicates = 0;
    const start = clock.now();
    let nextSend = start;
    let lastSend = start;

    print(ipv6 ? `PING ${host} (${host}) ${size} data bytes` : `PING ${host} (${host}) ${size}(${size + 28}) bytes of data.`);
    for (;;) {
      const now = clock.now();
      if (stopRequested || now - start >= forMs) break;
      if (transmitted >= count && (answered.size + errors >= transmitted || now - lastSend >= timeoutMs)) break;
      if (transmitted < count && now >= nextSend) {
        const sequence = (transmitted + 1) & 0xffff;
        try {
          const request = ipv6 ? buildEchoRequest6(identifier, sequence, data) : buildEchoRequest(identifier, sequence, data);
          await api.sendto(fd, request, { address: host, port: 0 });
          sentAt.set(sequence, clock.now());
          answered.delete(sequence);
        } catch (error) {
          if (!(error instanceof ErrnoError)) throw error;
          print(`ping: sendmsg: ${describeErrno(error.code)}`);
          errors++;
        }
        transmitted++;
        lastSend = now;
        nextSend = Math.max(nextSend + intervalMs, now);
        continue;
      }
      const until = Math.min(transmitted < count ? nextSend : lastSend + timeoutMs, start + forMs);
      // Wait for a datagram, the next deadline or Ctrl-C. The timer also keeps Node's event loop
      // alive (the driver's own timers are unref'd).
      const delay = Math.max(0, Math.ceil(until - clock.now()));
      const ready = await new Promise<PollResult[] | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), delay + 1);
        wake = () => {
          clearTimeout(timer);
          resolve(null);
        };
        void api.poll([{ fd, events: C.POLLIN }], delay).then((result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
      wake = null;
      if (!ready || (ready[0].revents & C.POLLIN) === 0) continue;
      for (;;) {
        let received;
        try {
          received = await api.recvfrom(fd, 65535, C.MSG_DONTWAIT);
        } catch (error) {
          if (error instanceof ErrnoError && error.code === 'EAGAIN') break;
          throw error;
        }
        const packet = received.data;
        const event = ipv6 ? parsePingMessage6(packet, identifier, received.hopLimit ?? 0) : parsePingDatagram(packet, identifier);
        if (!event) continue;
        const sent = sentAt.get(event.sequence);
        if (sent === undefined) continue;
        const from = ipv6 ? received.address : `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}`;
        if (event.kind === 'error') {
          errors++;
          print(`From ${from} icmp_seq=${event.sequence} ${event.text}`);
          continue;
        }
        const rtt = clock.now() - sent;
        const duplicate = answered.has(event.sequence);
        if (duplicate) duplicates++;
        else {
          answered.add(event.sequence);
          rtts.push(rtt);
        }
        const wrong = event.data.length !== data.length || event.data.some((byte, i) => byte !== data[i]);
        print(
          `${event.icmpBytes} bytes from ${from}: icmp_seq=${event.sequence} ttl=${event.ttl} time=${formatMs(rtt)} ms${duplicate ? ' (DUP!)' : ''}${wrong ? ' (wrong data)' : ''}`,
        );
      }
    }

    const received = answered.size;
    const elapsed = Math.round(lastSend - start);
    const loss = transmitted === 0 ? 0 : Math.round(((transmitted - received) / transmitted) * 100);
    print('');
    print(`--- ${host} ping statistics ---`);
    print(
      `${transmitted} packets transmitted, ${received} received${duplicates ? `, +${duplicates} duplicates` : ''}${errors ? `, +${errors} errors` : ''}, ${loss}% packet loss, time ${elapsed}ms`,
    );
    if (rtts.length > 0) {
      const min = Math.min(...rtts);
      const max = Math.max(...rtts);
      const avg = rtts.reduce((sum, rtt) => sum + rtt, 0) / rtts.length;
      const mdev = Math.sqrt(rtts.reduce((sum, rtt) => sum + (rtt - avg) ** 2, 0) / rtts.length);
      print(`rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms`);
    }
    return received > 0 ? 0 : 1;
  } finally {
    if (fd >= 0) api.close(fd);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    controls.signal?.removeEventListener('abort', stop);
    device.close();
  }
}
