/**
 * The features a script may need that ustack does not have, each with the reason. A script
 * that reaches one ends UNSUPPORTED rather than FAIL; nothing else may (docs/conformance.md
 * lists these, and a failure is never turned into one).
 */

/** Feature → why ustack lacks it. */
export const UNSUPPORTED_FEATURES = {
  'TCP Fast Open': 'RFC 7413 data on SYN and its cookies are not implemented',
  'TCP-MD5/AO': 'RFC 2385/5925 segment authentication needs keys and a MAC on every segment; not implemented',
  splice: 'a kernel pipe-to-socket path; a user-space stack has no pipes of its own',
  sendfile: 'a kernel file-to-socket path; a user-space stack has no page cache',
  SO_TIMESTAMPING: 'kernel and NIC timestamps of transmission and reception are not modelled',
  'kernel GRO': "the kernel's receive-side segment coalescing (ustack takes what the link delivers)",
} as const;

/** The name of a feature ustack lacks. */
export type UnsupportedFeature = keyof typeof UNSUPPORTED_FEATURES;

/** A script needs a feature ustack lacks: the script ends UNSUPPORTED with this. */
export class UnsupportedFeatureError extends Error {
  constructor(
    readonly feature: UnsupportedFeature,
    readonly detail: string,
  ) {
    super(`${feature}: ${detail}`);
    this.name = 'UnsupportedFeatureError';
  }
}
