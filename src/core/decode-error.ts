import { fail } from './result.js';

/**
 * Why a codec refused a frame. Each reason names one integrity or sanity check; the layer that
 * drops the frame counts it as `drop.<layer>.<reason>` in the stack's stats.
 */
export type DecodeReason =
  | 'truncated' // fewer bytes than a fixed header or a declared length (IHL, Total Length, UDP Length) needs
  | 'badVersion' // IPv4 version field is not 4
  | 'badHeaderLength' // header length field below the minimum (in an ICMP quote, also past the quoted bytes)
  | 'badTotalLength' // a total/datagram length field shorter than the header it includes
  | 'badChecksum' // checksum verification failed
  | 'badOption' // an option whose length is impossible or runs past the header
  | 'badField' // a field holds a value the protocol forbids
  | 'unsupported'; // well-formed, but not something this codec understands

/** Every DecodeReason once: the parts of the counter families `drop.<layer>.<DecodeReason>`. */
export const DECODE_REASONS: { readonly [Reason in DecodeReason]: true } = {
  truncated: true,
  badVersion: true,
  badHeaderLength: true,
  badTotalLength: true,
  badChecksum: true,
  badOption: true,
  badField: true,
  unsupported: true,
};

/** A typed decoding failure: which layer, which check, and a sentence for humans. */
export interface DecodeError {
  /** The codec that refused the frame: `ipv4`, `tcp`, `pcap`, …. */
  readonly layer: string;
  /** The check that failed. */
  readonly reason: DecodeReason;
  /** What was wrong, in a sentence for humans. */
  readonly message: string;
}

/** Shorthand for a failed Result carrying a DecodeError. */
export function decodeFail(layer: string, reason: DecodeReason, message: string) {
  return fail<DecodeError>({ layer, reason, message });
}
