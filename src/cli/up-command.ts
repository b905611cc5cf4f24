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
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { unwrap } from '../core/result.js';
import { cidrContains, formatIpv4Address, parseIpv4Cidr } from '../ip/address.js';
import { configureDevice, createNamespace, ip, type Configured } from '../link/device.js';
import { PcapTap } from '../link/pcap-tap.js';
import { TunLink } from '../link/tun.js';
import { attachDevice } from '../socket-api/attach-device.js';
import { RealtimeDriver } from '../socket-api/realtime-driver.js';
import { Stack } from '../socket-api/stack.js';
import type { Link } from '../link/link.js';

/** Help text of `ustack up`. */
export const UP_USAGE = `usage: ustack up [options]            (needs root or CAP_NET_ADMIN)

  --tun NAME            TUN device name (default ustack0)
  --tap NAME            a TAP device instead (Ethernet; we answer ARP)
  --address CIDR        our address on the device (default 10.77.0.2/24)
  --kernel CIDR         the kernel's address on the device (default 10.77.0.1/24)
  --netns NAME          put the kernel's end in this network namespace (made if missing)
  --mtu N               device MTU (default 1500)
  --txqueuelen N        packets the kernel holds for us to read (default 1000: a full 1 MB
                        receive window of segments fits, so a busy moment loses none)
  --echo PORT           a TCP echo server on PORT (default 7; repeatable; 0 for none)
  --udp-echo PORT       a UDP echo server on PORT (default 7; repeatable; 0 for none)
  --pcap FILE           record what crosses the device (pcap)
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
      tun: { type: 'string' },
      tap: { type: 'string' },
      address: { type: 'string', default: '10.77.0.2/24' },
      kernel: { type: 'string', default: '10.77.0.1/24' },
      netns: { type: 'string' },
      mtu: { type: 'string', default: '1500' },
      txqueuelen: { type: 'string', default: '1000' },
      echo: { type: 'string', multiple: true },
      'udp-echo': { type: 'string', multiple: true },
      pcap: { type: 'string' },
      for: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    print(UP_USAGE.trimEnd());
    return 0;
  }
  const ours = parseIpv4Cidr(values.address!);
  const kernel = parseIpv4Cidr(values.kernel!);
  if (!ours || !kernel) throw new Error(`bad address: give a.b.c.d/n (--address ${values.address}, --kernel ${values.kernel})`);
  if (!cidrContains(kernel, ours.address)) throw new Error(`--address ${values.address} is not on the kernel's network ${values.kernel}`);
  const mtu = Number(values.mtu);
  const tcpPorts = (values.echo ?? ['7']).map(Number).filter((port) => port > 0);
  const udpPorts = (values['udp-echo'] ?? ['7']).map(Number).filter((port) => port > 0);
  const tap = values.tap !== undefined;

  const undo: Array<{ close(): void }> = [];
  const stopAll = () => {
    for (const step of undo.reverse()) step.close();
    undo.length = 0;
  };
  try {
    let namespace: string | undefined;
    if (values.netns) {
      namespace = values.netns;
      const exists = ip(['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === namespace);
      if (!exists) undo.push(createNamespace(namespace));
    }
    const link = TunLink.open({ name: values.tap ?? values.tun ?? 'ustack0', tap, mtu });
    undo.push(link);
    const device: Configured = configureDevice({ name: link.name, netns: namespace, mtu, txQueueLength: Number(values.txqueuelen), addresses: [values.kernel!] });
    undo.push(device);

    const stack = new Stack({ name: 'ustack', seed: Date.now() >>> 0 });
    const driver = new RealtimeDriver(stack).start();
    undo.push({ close: () => driver.stop() });
    let wrap: ((inner: Link) => Link) | undefined;
    if (values.pcap) {
      const fd = openSync(values.pcap, 'w');
      undo.push({ close: () => closeSync(fd) });
      // Frames are stamped with the driver's clock (ms since it started) plus the start date.
      const epochMs = Date.now() - driver.clock.now();
      wrap = (inner) => new PcapTap(inner, { epochMs, onChunk: (chunk) => writeSync(fd, chunk) });
    }
    attachDevice(stack, driver, link, { address: values.address!, interfaceName: link.name, wrap });

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
    stopAll();
  }
}
