/**
 * `ustack up`: brings ustack up on a real TUN (or TAP) device so the machine's own programs can
 * talk to it — ping it, `nc` and `curl` its services — until Ctrl-C (or `--for SECONDS`). The
 * host's end of the device gets an address too, optionally inside a network namespace; every
 * change is undone when it stops.
 *
 *   sudo npx ustack up --serve echo,upper,kv,gateway,http
 *   ping 10.7.0.2;  nc 10.7.0.2 7;  nc -u 10.7.0.2 7;  curl http://10.7.0.2/
 */
import { describePorts, parseServiceList, SERVICES } from '../../examples/services.js';
import { FrameTracePrinter } from '../core/trace-format.js';
import { formatIpv4Address } from '../ip/address.js';
import { formatIpv6Address, isLinkLocalUnicast } from '../ip/ipv6-address.js';
import type { TunLink } from '../link/tun.js';
import type { Stack } from '../socket-api/stack.js';
import { accepts, parseCommandLine, UsageError, type OptionSpecs } from './arguments.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceConfig, openDevice } from './device-setup.js';
import { runUpQueues } from './up-queues.js';

/** Help text of `ustack up`. */
export const UP_USAGE = `usage: ustack up [options]            (needs root or CAP_NET_ADMIN)

${DEVICE_USAGE}  --serve LIST          services to run, comma-separated (default echo; none for none):
${Object.entries(SERVICES)
  .map(([name, service]) => `                          ${name.padEnd(8)} ${describePorts(service.ports).padEnd(20)} ${service.summary}`)
  .join('\n')}
  --trace               print every frame crossing the stack: a heading, then a line per layer
  --stats SECONDS       print the counters every SECONDS (default: a live line on a terminal,
                        every second; 0 for none)
  --for SECONDS         stop by itself after SECONDS
  --queues N            a multi-queue device and N worker threads, a stack in each (default 1:
                        one stack on this thread); flows are spread over the queues by their ports
`;

/** The options of `ustack up`: the device's, then its own. */
export const UP_OPTIONS = {
  ...DEVICE_OPTIONS,
  serve: { type: 'string', multiple: true, takes: `service names, comma-separated (${Object.keys(SERVICES).join(', ')}, or none)` },
  trace: { type: 'boolean' },
  stats: { type: 'string', takes: 'SECONDS (0 for none)', accepts: accepts.seconds },
  for: { type: 'string', takes: 'SECONDS', accepts: accepts.seconds },
  queues: { type: 'string', takes: 'N from 1 to 64', accepts: accepts.integer(1, 64) },
} as const satisfies OptionSpecs;

/** Options a caller (or test) can add to the command-line arguments. */
export interface UpControls {
  /** Stops the command when aborted (as Ctrl-C does). */
  readonly signal?: AbortSignal;
  /** Called once the device is up and the services listen. */
  readonly onReady?: (info: { stack: Stack; link: TunLink }) => void;
  /** Whether output goes to a terminal, where the counters line is rewritten in place (default: stdout's). */
  readonly terminal?: boolean;
}

/** Runs `ustack up ARGS`; resolves with the exit code once stopped. */
export async function runUp(args: string[], print: (line: string) => void, controls: UpControls = {}): Promise<number> {
  const { values, help } = parseCommandLine('up', args, UP_OPTIONS);
  if (help) {
    print(UP_USAGE.trimEnd());
    return 0;
  }
  const unknownServices = (values.serve ?? [])
    .flatMap((list) => list.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none' && !(name in SERVICES));
  if (unknownServices.length > 0) throw new UsageError(`ustack up: --serve takes ${UP_OPTIONS.serve.takes}, not '${unknownServices.join(',')}'`);
  const services = parseServiceList(values.serve ?? ['echo']);
  const config = deviceConfig('up', values);
  const terminal = controls.terminal ?? process.stdout.isTTY === true;
  const statsSeconds = values.stats !== undefined ? Number(values.stats) : terminal ? 1 : 0;
  const live = terminal && statsSeconds > 0;
  // On a terminal the counters line is rewritten in place; every other line first clears it.
  const log = live ? (line: string) => print(`\r\x1b[K${line}`) : print;
  const queues = values.queues !== undefined ? Number(values.queues) : 1;
  if (queues > 1) {
    if (values.pcap !== undefined) throw new UsageError('ustack up: --pcap records one queue; not with --queues above 1');
    return runUpQueues(config, queues, services, { trace: values.trace ?? false, statsSeconds, until: values.for, log, print, signal: controls.signal });
  }

  const device = openDevice(config);
  let statsTimer: NodeJS.Timeout | undefined;
  const stops: Array<() => void> = [];
  try {
    const { stack, link, tap, mtu, ours, namespace } = device;
    const us = formatIpv4Address(ours.address);
    const where = namespace ? ` (in netns ${namespace}: prefix commands with \`ip netns exec ${namespace}\`)` : '';
    log(`ustack up: ${tap ? 'tap' : 'tun'} ${link.name}, ustack ${device.address} ↔ host ${device.kernelAddress}${where}, mtu ${mtu}`);
    log(`  ping ${us}`);
    if (device.address6 !== undefined) log(`  ping -6 ${device.address6.slice(0, device.address6.indexOf('/'))}   (host ${device.kernelAddress6})`);
    // On a TAP the interface also has an RFC 7217 link-local address, usable once its DAD ends (about a second).
    const linkLocal = tap && device.address6 !== undefined ? stack.ip6.addresses(link.name).find((entry) => isLinkLocalUnicast(entry.cidr.address)) : undefined;
    if (linkLocal) log(`  ping -6 ${formatIpv6Address(linkLocal.cidr.address)}%${link.name}   (link-local, after duplicate address detection)`);
    for (const name of services) {
      const service = SERVICES[name]!;
      stops.push(service.start(stack, log, { capturePath: values.pcap }));
      log(`  ${name} (${describePorts(service.ports)}): ${service.tryFromShell(us).join('   ')}`);
    }
    if (values.trace) stack.tracer = new FrameTracePrinter({ print: log }).tracerFor('ustack');
    log(`  Ctrl-C to stop${values.pcap ? `; recording ${values.pcap}` : ''}`);
    if (statsSeconds > 0) {
      statsTimer = setInterval(() => (live ? process.stdout.write(`\r\x1b[K${counters(stack, link)}`) : print(counters(stack, link))), statsSeconds * 1000);
      statsTimer.unref();
    }
    controls.onReady?.({ stack, link });

    await new Promise<void>((resolve) => {
      const finish = () => {
        process.removeListener('SIGINT', finish);
        process.removeListener('SIGTERM', finish);
        clearTimeout(timer);
        controls.signal?.removeEventListener('abort', finish);
        resolve();
      };
      process.on('SIGINT', finish);
      process.on('SIGTERM', finish);
      controls.signal?.addEventListener('abort', finish);
      const timer = values.for ? setTimeout(finish, Number(values.for) * 1000) : undefined;
    });
    clearInterval(statsTimer);
    const stats = stack.stats;
    log(
      `ustack down: ${link.counters.rxPackets} packets in, ${link.counters.txPackets} out; ` +
        `${stats.get('icmp.tx.echoReply')} pings answered, ${stats.get('tcp.passiveOpens')} TCP connections, ${stats.get('udp.rx.delivered')} UDP datagrams, ${stats.sum('drop.')} dropped`,
    );
    return 0;
  } finally {
    clearInterval(statsTimer);
    // The services' listeners go first: a listening server keeps Node's process alive, as Node's own do.
    for (const stop of stops) stop();
    device.close();
  }
}

/** One line of live counters: the device, TCP, UDP, ICMP and drops. */
function counters(stack: Stack, link: TunLink): string {
  const c = link.counters;
  const s = stack.stats;
  const open = stack.tcp.listConnections().length;
  return (
    `in ${c.rxPackets} pkts ${megabytes(c.rxBytes)}, out ${c.txPackets} pkts ${megabytes(c.txBytes)} | ` +
    `tcp ${open} open, ${s.get('tcp.passiveOpens')} accepted, ${s.get('tcp.tx.retransmits')} retransmitted | ` +
    `udp ${s.get('udp.rx.delivered')} in | ping ${s.get('icmp.tx.echoReply')} | dropped ${s.sum('drop.')}`
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
