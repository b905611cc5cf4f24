/**
 * Trace events (core/trace.ts) as text, one frame at a time: a heading line for each frame a host
 * sends or receives, then one line per layer it crossed, in the order the layers wrap it —
 *
 *   client sends a 74-byte frame on eth0 at 3004.000 ms
 *     ↓ tcp  TCP 49152 → 7 Flags [S], seq 1, win 65535, options [mss 1460,…], length 0: added 40-byte header, …
 *     ↓ ipv4 IPv4 10.0.0.1 → 10.0.0.2 proto 6: added 20-byte header, …
 *     ↓ eth  Ethernet 02:00:00:00:00:01 → 02:00:00:00:00:02, type IPv4 (0x0800), 74 bytes: added 14-byte header
 *   server receives a 74-byte frame on eth0 at 3005.000 ms
 *     ↑ eth  …
 *
 * The layers of a stack report at different moments: TCP and IP when a segment is made, the link
 * when the stack flushes its queue (several segments later), Ethernet only once ARP has answered.
 * A frame going down is therefore held until its lowest layer reports (matched by
 * TraceEvent.packet), then printed whole; a frame coming up is reported by its layers one after
 * the other, so its lines are printed as they come. Pure formatting: no clock, no I/O but `print`.
 */
import { toHex } from './bytes.js';
import type { TraceEvent, Tracer } from './trace.js';

/** How much of each layer a FrameTracePrinter shows. */
export type TraceDetail = 'summary' | 'fields';

/** Settings of a FrameTracePrinter. */
export interface FrameTracePrinterOptions {
  /** Where each line goes. */
  readonly print: (line: string) => void;
  /** `summary`: one line per layer (default); `fields`: also its header fields and bytes. */
  readonly detail?: TraceDetail;
  /** Put before every line (default none). */
  readonly indent?: string;
}

/** Layers that carry the data, above IP: their events open a frame going down. */
const TRANSPORT_LAYERS = new Set(['tcp', 'udp', 'icmp', 'igmp', 'icmpv6']);
/** The network layers: their event going down makes the packet a frame waits for. */
const NETWORK_LAYERS = new Set(['ipv4', 'ipv6']);
/** The lowest layers: a frame going down is complete when one of them reports it. */
const LINK_LAYERS = new Set(['link', 'eth']);
/** Width of the layer column (`ipv4`, `link`). */
const LAYER_WIDTH = 4;
/** Shortest Ethernet frame without its FCS: a padded frame is never shorter. */
const ETHERNET_MIN_FRAME_LENGTH = 60;

interface FrameLines {
  readonly host: string;
  readonly events: TraceEvent[];
}

/** Prints the trace events of one or more hosts frame by frame (see the file's comment). */
export class FrameTracePrinter {
  private readonly print: (line: string) => void;
  private readonly detail: TraceDetail;
  private readonly indent: string;
  /** A transport event per host, waiting for the IP event of its packet. */
  private readonly heldTransport = new Map<string, TraceEvent>();
  /** Frames going down whose lowest layer has not reported yet, by their IPv4 packet. */
  private readonly pending = new Map<Uint8Array, FrameLines>();
  /** An ARP packet going down, until its Ethernet header reports. */
  private heldArp: { host: string; event: TraceEvent } | null = null;
  /** The frame coming up whose lines are being printed, by host; null when the last printed went down. */
  private receiving: string | null = null;

  /** A printer writing through `options.print`. */
  constructor(options: FrameTracePrinterOptions) {
    this.print = options.print;
    this.detail = options.detail ?? 'summary';
    this.indent = options.indent ?? '';
  }

  /** The tracer to install on the stack called `host` (`stack.tracer = printer.tracerFor('client')`). */
  tracerFor(host: string): Tracer {
    return (event) => this.handle(host, event);
  }

  /** Prints what is still held: frames made but not (yet) handed to a link. */
  flush(): void {
    for (const [host, event] of this.heldTransport) this.printFrame({ host, events: [event] }, 'made, not (yet) handed to IP');
    this.heldTransport.clear();
    for (const frame of this.pending.values()) this.printFrame(frame, 'made, not (yet) handed to a link');
    this.pending.clear();
    if (this.heldArp) this.printFrame({ host: this.heldArp.host, events: [this.heldArp.event] }, 'made, not (yet) handed to a link');
    this.heldArp = null;
    this.receiving = null;
  }

  private handle(host: string, event: TraceEvent): void {
    if (event.direction === 'down') this.down(host, event);
    else this.up(host, event);
  }

  private down(host: string, event: TraceEvent): void {
    this.receiving = null;
    if (TRANSPORT_LAYERS.has(event.layer)) {
      const earlier = this.heldTransport.get(host);
      if (earlier) this.printFrame({ host, events: [earlier] }, 'made, not handed to IP');
      this.heldTransport.set(host, event);
      return;
    }
    if (NETWORK_LAYERS.has(event.layer)) {
      // Only the first fragment of a datagram follows its transport event.
      const events = [event];
      const transport = this.heldTransport.get(host);
      if (transport) events.unshift(transport);
      this.heldTransport.delete(host);
      if (event.packet) this.pending.set(event.packet, { host, events });
      else this.printFrame({ host, events }, 'made');
      return;
    }
    const frame = event.packet ? this.pending.get(event.packet) : undefined;
    if (frame) {
      this.pending.delete(event.packet!);
      frame.events.push(event);
      this.printFrame(frame);
      return;
    }
    // A packet of the link's own (ARP): its events come top down, the lowest one last.
    const arp = this.heldArp;
    this.heldArp = null;
    if (arp && arp.host === host && LINK_LAYERS.has(event.layer)) {
      this.printFrame({ host, events: [arp.event, event] });
      return;
    }
    if (arp) this.printFrame({ host: arp.host, events: [arp.event] }, 'made, not handed to a link');
    if (LINK_LAYERS.has(event.layer)) this.printFrame({ host, events: [event] });
    else this.heldArp = { host, event };
  }

  private up(host: string, event: TraceEvent): void {
    // A frame coming up starts at its lowest layer; the layers above follow at once.
    if (this.receiving !== host || LINK_LAYERS.has(event.layer)) {
      this.receiving = host;
      this.printHeading(host, 'up', event);
    }
    this.printEvent(event);
  }

  private printFrame(frame: FrameLines, unfinished?: string): void {
    const lowest = frame.events[frame.events.length - 1];
    if (unfinished === undefined) this.printHeading(frame.host, 'down', lowest);
    else this.print(`${this.indent}${frame.host}: ${describeOutermost(lowest)} ${unfinished}, at ${formatTime(lowest.time)}`);
    for (const event of frame.events) this.printEvent(event);
  }

  private printHeading(host: string, direction: 'up' | 'down', lowest: TraceEvent): void {
    const verb = direction === 'down' ? 'sends' : 'receives';
    this.print(`${this.indent}${host} ${verb} a ${frameLength(lowest)}-byte frame on ${lowest.where} at ${formatTime(lowest.time)}`);
  }

  private printEvent(event: TraceEvent): void {
    const arrow = event.direction === 'down' ? '↓' : '↑';
    this.print(`${this.indent}  ${arrow} ${event.layer.padEnd(LAYER_WIDTH)} ${event.summary}`);
    if (this.detail !== 'fields') return;
    const under = `${this.indent}  ${' '.repeat(LAYER_WIDTH + 2)} `;
    if (event.fields.length > 0) this.print(`${under}${event.fields.map(([name, value]) => `${name}=${value}`).join(', ')}`);
    if (event.header.length > 0) this.print(`${under}header bytes: ${toHex(event.header, ' ')}`);
  }
}

/** The length of the frame on the wire, from the lowest layer that reported it. */
function frameLength(lowest: TraceEvent): number {
  const length = lowest.header.length + lowest.payloadLength;
  return lowest.layer === 'eth' ? Math.max(length, ETHERNET_MIN_FRAME_LENGTH) : length;
}

/** What each layer calls its unit, for a frame that never reached its link. */
const UNIT_NAMES: Readonly<Record<string, string>> = {
  ipv4: 'IPv4 packet',
  ipv6: 'IPv6 packet',
  tcp: 'TCP segment',
  udp: 'UDP datagram',
  icmp: 'ICMP message',
  igmp: 'IGMP message',
  icmpv6: 'ICMPv6 message',
  arp: 'ARP packet',
};

/** `a 36-byte IPv4 packet`: what a frame that never reached its link was. */
function describeOutermost(event: TraceEvent): string {
  return `a ${event.header.length + event.payloadLength}-byte ${UNIT_NAMES[event.layer] ?? `${event.layer} unit`}`;
}

/** Virtual or real time in ms, to the microsecond. */
function formatTime(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}
