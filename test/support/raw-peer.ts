/**
 * A raw peer: one end of a virtual wire that the test drives by hand. What the test passes to
 * `send` arrives at the stack on the other end exactly as built (any header, any checksum);
 * what the stack transmits is recorded with the virtual time it arrived.
 */
import type { Stack } from '../../src/socket-api/stack.js';
import type { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { VirtualWire, type WireEnd } from '../../src/link/virtual-wire.js';

/** A frame the peer received, and when. */
export interface Captured {
  readonly frame: Uint8Array;
  readonly time: number;
}

/** The hand-driven end of a wire attached to a stack. */
export class RawPeer {
  readonly received: Captured[] = [];

  constructor(
    private readonly net: VirtualNetwork,
    readonly end: WireEnd,
  ) {
    end.setReceiver((frame) => this.received.push({ frame, time: net.now }));
  }

  /** Puts a frame on the wire toward the stack. */
  send(frame: Uint8Array): void {
    this.end.transmit(frame, this.net.now);
  }

  /** Removes and returns what the peer received so far. */
  take(): Captured[] {
    return this.received.splice(0, this.received.length);
  }
}

/** Gives `stack` an interface (`address`, e.g. `10.0.0.2/24`) whose far end is a RawPeer. */
export function attachRawPeer(
  net: VirtualNetwork,
  stack: Stack,
  address: string,
  options: { readonly interfaceName?: string; readonly mtu?: number } = {},
): RawPeer {
  const wire = new VirtualWire({ name: `raw-${stack.name}`, mtu: options.mtu ?? 1500 });
  stack.addInterface({ name: options.interfaceName ?? 'eth0', link: wire.a, address });
  return new RawPeer(net, wire.b);
}

/**
 * Runs the network (and the peers) until nothing is left to do or `limitMs` of virtual time
 * passed. The peers' wires have no latency, so polling them after every step records each
 * frame at the time it was sent.
 */
export function drive(net: VirtualNetwork, peers: readonly RawPeer[], limitMs = 10 * 60_000): void {
  const end = net.now + limitMs;
  for (let steps = 0; steps < 1_000_000; steps++) {
    for (const peer of peers) peer.end.poll(net.now);
    if (net.pollAt() > end) break;
    if (!net.step()) break;
  }
  for (const peer of peers) peer.end.poll(net.now);
}
