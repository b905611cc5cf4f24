/**
 * `ustack up`: brings ustack up on a real TUN (or TAP) device so the machine's own programs can
 * talk to it — ping it, `nc` to its echo servers — until Ctrl-C (or `--for SECONDS`). The
 * kernel's end of the device gets an address too, optionally inside a network namespace; every
 * change is undone when it stops.
 *
 *   sudo npx ustack up                         tun ustack0: us 10.77.0.2/24, kernel 10.77.0.1/24
 *   sudo npx ustack up --netns ustack          the kernel's end inside namespace `ustack`
 *   ping 10.77.0.2;  nc 10.77.0.2 7;  nc -u 10.77.0.2 7
 */
import { parseArgs } from 'node:util';
import { unwrap } from '../core/result.js';
import { formatIpv4Address } from '../ip/address.js';
import type { TunLink } from '../link/tun.js';
import type { Stack } from '../socket-api/stack.js';
import { DEVICE_ARG_OPTIONS, DEVICE_USAGE, openDevice } from './device-setup.js';

/** Help text of `ustack up`. */
export const UP_USAGE = `usage: ustack up [options]            (needs root or CAP_NET_ADMIN)

${DEVICE_USAGE}  --echo PORT           a TCP echo server on PORT (default 7; repeatable; 0 for none)
  --udp-echo PORT       a UDP echo server on PORT (default 7; repeatable; 0 for none)
  --for SECONDS         stop by itself after SECONDS
`;

/** Options a caller (or test) can add to the command-line arguments. */
export interface UpControls {
  /** Stops the command when aborted (as Ctrl-C does). */
  readonly signal?: AbortSignal;
  /** Called once the device is up and the servers listen. */
  readonly onReady?: (info: { stack: Stack; link: TunLink }) => void;
}

/** Runs `ustack up ARGS`; resolves with the exit code once stopped. */
export async function runUp(args: string[], print: (line: string) => void, controls: UpControls = {}): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...DEVICE_ARG_OPTIONS,
      echo: { type: 'string', multiple: true },
      'udp-echo': { type: 'string', multiple: true },
      for: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    print(UP_USAGE.trimEnd());
    return 0;
  }
  const tcpPorts = (values.echo ?? ['7']).map(Number).filter((port) => port > 0);
  const udpPorts = (values['udp-echo'] ?? ['7']).map(Number).filter((port) => port > 0);

  const device = openDevice(values);
  try {
    const { stack, link, tap, mtu, ours, namespace } = device;
    for (const port of tcpPorts) {
      const listener = unwrap(stack.tcp.listen(0, port));
      listener.onAcceptable = () => {
        for (let connection = listener.accept(); connection; connection = listener.accept()) {
          const c = connection;
          c.events.onReadable = () => {
            for (let data = c.receive(); data.length > 0; data = c.receive()) c.send(data);
            if (c.endOfStream) c.close();
          };
        }
      };
    }
    for (const port of udpPorts) {
      const socket = stack.udp.open();
      unwrap(socket.bind(0, port));
      socket.onReadable = () => {
        for (let datagram = socket.receive(); datagram; datagram = socket.receive()) socket.send(datagram.payload, datagram.sourceAddress, datagram.sourcePort);
      };
    }

    const where = namespace ? ` (in netns ${namespace}: prefix commands with \`ip netns exec ${namespace}\`)` : '';
    const us = formatIpv4Address(ours.address);
    print(`ustack up: ${tap ? 'tap' : 'tun'} ${link.name}, ustack ${values.address} ↔ kernel ${values.kernel}${where}, mtu ${mtu}`);
    print(`  try: ping ${us}${tcpPorts.length ? `; nc ${us} ${tcpPorts[0]} (TCP echo)` : ''}${udpPorts.length ? `; nc -u ${us} ${udpPorts[0]} (UDP echo)` : ''}`);
    print(`  Ctrl-C to stop${values.pcap ? `; recording ${values.pcap}` : ''}`);
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
    const stats = stack.stats;
    print(
      `ustack down: ${link.counters.rxPackets} packets in, ${link.counters.txPackets} out; ` +
        `${stats.get('icmp.tx.echoReply')} pings answered, ${stats.get('tcp.passiveOpens')} TCP connections, ${stats.sum('drop.')} dropped`,
    );
    return 0;
  } finally {
    device.close();
  }
}
