/**
 * A lossy path between two kernels (bench/tun.ts's goodput under loss): `node
 * dist/bench/peers/lossy-relay.js --a NAME --b NAME --mtu N --loss RATE --delay MS [--seed N]`
 * creates TUN devices A and B and forwards every packet read from one to the other through a
 * FaultInjector (RATE random loss, MS one-way delay, each direction its own). The benchmark puts
 * A in the client's namespace and B in the server's, so the kernel's TCP runs over the same
 * impairment, drawn by the same code, as ustack's peer gets with `--loss --delay` (in-process).
 * This machine's kernel has no netem (CONFIG_NET_SCH_NETEM is not set, and there are no modules),
 * so the impairment cannot be the kernel's own.
 *
 * Prints `ready` once both devices are open; exits on SIGINT/SIGTERM or when stdin closes.
 */
import { parseArgs } from 'node:util';
import { SystemClock } from '../../src/core/clock.js';
import { Rng } from '../../src/core/rng.js';
import { FaultInjector } from '../../src/link/fault-injector.js';
import { TunLink } from '../../src/link/tun.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    mtu: { type: 'string', default: '1500' },
    loss: { type: 'string', default: '0' },
    delay: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.a || !values.b) {
  process.stderr.write('usage: lossy-relay --a NAME --b NAME [--mtu N] [--loss RATE] [--delay MS] [--seed N]\n');
  process.exit(2);
}
const mtu = Number(values.mtu);
const seed = Number(values.seed);
const clock = new SystemClock();
// No offload: every packet is one MTU-sized frame, so a loss is one packet, as on a wire.
const [deviceA, deviceB] = [values.a, values.b].map((name) => TunLink.open({ name, mtu, clock }));
// The same bound on frames held for the delay as ustack's peer has.
const faults = { lossRate: Number(values.loss), delayMs: Number(values.delay), queueLimit: 10_000 };
/** Frames on their way out of A (to the client), and out of B (to the server): a direction each. */
const towardA = new FaultInjector(deviceA!, faults, new Rng(seed));
const towardB = new FaultInjector(deviceB!, faults, new Rng(seed + 1));
towardA.setReceiver((frame, now) => towardB.transmit(frame, now));
towardB.setReceiver((frame, now) => towardA.transmit(frame, now));

// The relay's own driver: poll when a batch arrives and when the next delayed frame is due.
let timer: NodeJS.Timeout | undefined;
function poll(): void {
  const now = clock.now();
  towardA.poll(now);
  towardB.poll(now);
  const next = Math.min(towardA.pollAt(), towardB.pollAt());
  clearTimeout(timer);
  timer = Number.isFinite(next) ? setTimeout(poll, Math.max(0, next - clock.now())) : undefined;
}
deviceA!.onBatch = poll;
deviceB!.onBatch = poll;

const stop = () => {
  clearTimeout(timer);
  deviceA!.close();
  deviceB!.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.stdout.write('ready\n');
