/**
 * Automatic IPv6 flow labels (RFC 6437 §3): one label per flow, the same on every packet of it,
 * unguessable by others (§6), drawn from a keyed hash of the flow's addresses, protocol and ports
 * — §3's stateless method. Linux's auto_flowlabels label a socket's packets from its sk_txhash,
 * set once at connect or on the SYN (sk_set_txhash, tcp_conn_request) and kept on the socket;
 * packets with no socket behind them get a hash of their 5-tuple (skb_get_hash_flowi6).
 *
 * We keep the label where Linux keeps the hash: a TCP connection and a connected UDP socket
 * compute theirs once (`label`) and put it on every packet; the IPv6 layer hashes per packet only
 * for what has no such owner (resets to a segment without a connection, unconnected UDP).
 *
 * Re-rolling (`generation`): RFC 6437 §3 wants a flow's label constant so that ECMP, LAG and
 * RFC 7098's label-hashing load balancers keep it on one path and in order. Linux nonetheless
 * draws a new hash when a retransmission timeout fires (sk_rethink_txhash in tcp_write_timeout,
 * the SYN-ACK's in tcp_rtx_synack): a timeout says the path in use is failing, and a new label
 * lets a hashing router pick another one, at no cost in order since nothing was delivered
 * meanwhile. We follow it: the label of generation n is the hash with n folded in, n counting
 * the connection's timeouts (tcp_info's tcpi_rehash).
 */
import type { Rng } from '../core/rng.js';
import { SipHashKey, sipHash24 } from '../core/siphash.js';
import type { Ipv6Address } from './ipv6-address.js';

/** The flow label field's 20 bits. */
const FLOW_LABEL_MASK = 0xfffff;

/** The automatic flow labels of one stack: the secret key and the hash of a flow under it. */
export class Ipv6FlowLabels {
  /** The key, drawn from the seeded Rng at the first label (so the same seed, the same labels). */
  private key: SipHashKey | null = null;
  /** Source, destination, next header, ports: 37 bytes; and the generation, 4 more, when not 0. */
  private readonly tuple = new Uint8Array(41);

  constructor(private readonly rng: Rng) {}

  /**
   * The label of the flow `source`:`sourcePort` → `destination`:`destinationPort` over
   * `nextHeader`, for its `generation`-th re-roll (0: the first label). Each direction of a
   * connection is a flow of its own (§2: the source labels its flows).
   */
  label(source: Ipv6Address, destination: Ipv6Address, nextHeader: number, sourcePort: number, destinationPort: number, generation = 0): number {
    this.key ??= new SipHashKey(this.rng.bytes(16));
    const tuple = this.tuple;
    tuple.set(source, 0);
    tuple.set(destination, 16);
    tuple[32] = nextHeader;
    tuple[33] = sourcePort >> 8;
    tuple[34] = sourcePort & 0xff;
    tuple[35] = destinationPort >> 8;
    tuple[36] = destinationPort & 0xff;
    if (generation === 0) return sipHash24(this.key, tuple.subarray(0, 37)).low & FLOW_LABEL_MASK;
    tuple[37] = generation >>> 24;
    tuple[38] = (generation >>> 16) & 0xff;
    tuple[39] = (generation >>> 8) & 0xff;
    tuple[40] = generation & 0xff;
    return sipHash24(this.key, tuple).low & FLOW_LABEL_MASK;
  }
}
