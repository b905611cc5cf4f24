/**
 * Trace events: what each layer did to a packet as it passed a layer boundary, so that users
 * can watch encapsulation happen. A layer emits one only when a tracer is installed.
 */

/** One layer's view of one packet crossing it. */
export interface TraceEvent {
  /** `down`: on its way to the link; `up`: on its way to a socket. */
  readonly direction: 'down' | 'up';
  /** The layer reporting: `udp`, `icmp`, `ipv4`, `tcp`, `link` (a bare-IP link), `eth`, `arp`. */
  readonly layer: string;
  /** The stack's time (ms). */
  readonly time: number;
  /** Interface or socket the event concerns. */
  readonly where: string;
  /** One line for humans. */
  readonly summary: string;
  /** The header fields, in wire order, as name → value text. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** The bytes this layer added (down) or removed (up): its header. */
  readonly header: Uint8Array;
  /** Bytes of payload this layer carried. */
  readonly payloadLength: number;
  /**
   * The IPv4 packet this event belongs to, on the way down: the same object at the `ipv4`, `link`
   * and `eth` events of one packet, so a reader can put a packet's lines together although its
   * layers report at different moments (IP when the packet is made, the link when the stack
   * flushes its queue, Ethernet once ARP has answered).
   */
  readonly packet?: Uint8Array;
}

/** Receives trace events. */
export type Tracer = (event: TraceEvent) => void;
