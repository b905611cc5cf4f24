/**
 * What both IP layers count of every packet, and their refusals by reason: one owner for the
 * counter lookups the IPv4 (ip-layer.ts) and IPv6 (ipv6-layer.ts) layers share, whose names
 * differ only by the family (`ipv4.rx.packets`, `drop.ipv6.badChecksum`).
 */
import type { DecodeError, DecodeReason } from '../core/decode-error.js';
import type { Result } from '../core/result.js';
import type { Counter, Stats } from '../core/stats.js';
import type { ReassemblyDrop } from './reassembly.js';

/** The two IP families, as their counter names begin. */
export type IpFamily = 'ipv4' | 'ipv6';

/** Why a family's layer refused a packet by its codec or its reassembler. */
export type IpRefusal = DecodeReason | ReassemblyDrop;

/** The counters of `Family` that PacketCounters touches. */
export type PacketCounterName<Family extends IpFamily> =
  `${Family}.rx.packets` | `${Family}.rx.delivered` | `${Family}.tx.packets` | `drop.${Family}.${IpRefusal}` | `drop.${Family}.transmitQueueFull`;

/** What the interfaces' shared transmit queue (IpLayer's outbox) counts for the family that queues. */
export interface QueueCounters {
  /** `<family>.tx.packets`. */
  readonly sent: Counter;
  /** Counts a datagram dropped before the wire: the interface's transmit queue was full. */
  transmitQueueFull(): void;
}

/** One family's per-packet counters, looked up once (see core/stats.ts), and its refusals. */
export class PacketCounters<Family extends IpFamily> implements QueueCounters {
  /** `<family>.rx.packets`: every packet a link handed to the layer, before any check. */
  readonly received: Counter;
  /** `<family>.rx.delivered`: datagrams handed to a protocol. */
  readonly delivered: Counter;
  /** `<family>.tx.packets`: packets queued for a link. */
  readonly sent: Counter;

  constructor(
    private readonly stats: Stats<PacketCounterName<Family>>,
    private readonly family: Family,
  ) {
    this.received = stats.counter(`${family}.rx.packets`);
    this.delivered = stats.counter(`${family}.rx.delivered`);
    this.sent = stats.counter(`${family}.tx.packets`);
  }

  /**
   * The input prologue of both layers: counts a packet's arrival and, when its codec refused it
   * (`checked`, the family's `checked` view), the refusal. The view, or null for a refused packet.
   */
  arrived<View>(checked: Result<View, DecodeError>): View | null {
    this.received.increment();
    return this.decoded(checked);
  }

  /** What the codec decoded, or null after counting its refusal. */
  decoded<Value>(result: Result<Value, DecodeError>): Value | null {
    if (result.ok) return result.value;
    this.refused(result.error.reason);
    return null;
  }

  /** Counts a packet the family's codec or reassembler refused: `drop.<family>.<reason>`. */
  refused(reason: IpRefusal): void {
    this.stats.increment(`drop.${this.family}.${reason}`);
  }

  /** Counts `drop.<family>.transmitQueueFull`. */
  transmitQueueFull(): void {
    this.stats.increment(`drop.${this.family}.transmitQueueFull`);
  }
}
