/**
 * ustack as a benchmark peer (bench/peers/README.md): `node dist/bench/peers/ustack-peer.js
 * --tun NAME --addr A.B.C.D --mtu N`. It opens the TUN device, brings a stack up on it with the
 * address A.B.C.D/24, and serves TCP 5001 sink, 5002 source and 5003 echo with the stack's own
 * connection API (no Node streams in between, as the other peers use their stacks' native APIs).
 * The TUN device is opened with offloads (src/link/tun.ts) unless `--no-offload`.
 * `--loss RATE --delay MS [--seed N]` put a FaultInjector between the stack and the device, each
 * direction losing RATE of its packets and delayed by MS (bench/tun.ts's goodput under loss).
 * Prints `ready` once listening; exits on SIGINT/SIGTERM or when stdin closes.
 */
import { parseArgs } from 'node:util';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { FaultInjector } from '../../src/link/fault-injector.js';
import { TunLink } from '../../src/link/tun.js';
import { attachDevice } from '../../src/socket-api/attach-device.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { Link } from '../../src/link/link.js';

const { values } = parseArgs({
  options: {
    tun: { type: 'string' },
    addr: { type: 'string' },
    mtu: { type: 'string', default: '1500' },
    'no-offload': { type: 'boolean' },
    loss: { type: 'string' },
    delay: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.tun || !values.addr) {
  process.stderr.write('usage: ustack-peer --tun NAME --addr A.B.C.D [--mtu N] [--no-offload] [--loss RATE --delay MS [--seed N]]\n');
  process.exit(2);
}
const mtu = Number(values.mtu);

// Checksum and segmentation offload through the TUN's virtio_net_hdr unless told otherwise.
const link = TunLink.open({ name: values.tun, mtu, offload: !values['no-offload'] });
const stack = new Stack({ name: 'ustack-peer' });
const driver = new RealtimeDriver(stack).start();
const faults = values.loss !== undefined || values.delay !== undefined;
// Both directions, each its own loss and delay (bench/tun.ts's goodput under loss; the kernel's
// reference path gets the same from bench/peers/lossy-relay.ts). With offload a frame can be a
// whole TSO segment, lost at once; bench/tun.ts runs this peer with --no-offload.
const wrap = faults
  ? (inner: Link) =>
      new FaultInjector(
        inner,
        { lossRate: Number(values.loss ?? 0), delayMs: Number(values.delay ?? 0), queueLimit: 10_000, direction: 'both' },
        new Rng(Number(values.seed)),
      )
  : undefined;
attachDevice(stack, driver, link, { address: `${values.addr}/24`, wrap });

/** Calls `serve` with every connection accepted on `port`. */
function listen(port: number, serve: (connection: TcpConnection) => void): void {
  const listener = unwrap(stack.tcp.listen(0, port, 1024));
  listener.onAcceptable = () => {
    for (let connection = listener.accept(); connection; connection = listener.accept()) serve(connection);
  };
}

// 5001 sink: read to EOF into one reused buffer (as the gVisor and lwIP peers' sinks), then close.
const sinkBuffer = new Uint8Array(256 * 1024);
listen(5001, (c) => {
  c.events.onReadable = () => {
    while (c.receiveInto(sinkBuffer) > 0);
    if (c.endOfStream) c.close();
  };
});

// 5002 source: an 8-byte big-endian count, then that many bytes, then close.
const zeros = new Uint8Array(256 * 1024);
listen(5002, (c) => {
  let header = new Uint8Array(0);
  let left = -1;
  const pump = () => {
    while (left > 0) {
      const sent = c.send(zeros.subarray(0, Math.min(left, zeros.length)));
      // The timed source test closes (resets) before the count is reached: stop sending.
      if (!sent.ok) {
        left = -2;
        return;
      }
      if (sent.value === 0) return;
      left -= sent.value;
    }
    if (left === 0) {
      left = -2;
      c.close();
    }
  };
  c.events.onReadable = () => {
    for (let data = c.receive(); data.length > 0 && left === -1; data = c.receive()) {
      const joined = new Uint8Array(header.length + data.length);
      joined.set(header);
      joined.set(data, header.length);
      header = joined;
      if (header.length >= 8) {
        left = Number(new DataView(header.buffer).getBigUint64(0));
        pump();
      }
    }
  };
  c.events.onWritable = pump;
});

// 5003 echo, Nagle off.
listen(5003, (c) => {
  c.setNoDelay(true);
  c.events.onReadable = () => {
    for (let data = c.receive(); data.length > 0; data = c.receive()) c.send(data);
    if (c.endOfStream) c.close();
  };
});

const stop = () => {
  driver.stop();
  link.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.stdout.write('ready\n');
