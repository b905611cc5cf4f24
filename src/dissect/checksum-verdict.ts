/**
 * Checksum verdicts for the dissector: is the value in the header right, and if not, what should
 * it have been. The frame's own value is always what gets printed; a wrong one is flagged
 * `bad checksum` and the note says what the sender should have written.
 */
import { checksumIsValid, foldSum, onesComplementSum } from '../ip/checksum.js';
import { hex, type ChecksumCoverage, type PseudoHeader } from './dissection.js';

/** Why a checksum could not be checked, or how it checked out. */
export type ChecksumVerdict =
  | { readonly kind: 'good' }
  | { readonly kind: 'bad'; readonly expected: number; readonly offloaded: boolean }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unverified'; readonly why: string };

/**
 * Verifies the Internet checksum over `covered` (which includes the checksum field at
 * `fieldOffset`) plus the unfolded `initial` sum (a pseudo-header). `offloadSum`, when given, is
 * the pseudo-header sum a sender using checksum offload leaves in the field before the NIC (or
 * never, when the capture is taken on the sending host) fills in the real value.
 */
export function verifyChecksum(covered: Uint8Array, fieldOffset: number, initial = 0, offloadSum?: number): ChecksumVerdict {
  if (checksumIsValid(covered, initial)) return { kind: 'good' };
  const stored = (covered[fieldOffset] << 8) | covered[fieldOffset + 1];
  const sum = foldSum(onesComplementSum(covered, initial));
  // One's complement subtraction of the stored value: add its complement.
  const withoutField = foldSum(sum + (~stored & 0xffff));
  const expected = ~withoutField & 0xffff;
  const offloaded = offloadSum !== undefined && stored === foldSum(offloadSum);
  return { kind: 'bad', expected, offloaded };
}

/** The text-mode rendering of a checksum value with its verdict, and its problem if any. */
export function describeChecksum(value: number, verdict: ChecksumVerdict): { display: string; problem?: string; note?: string } {
  const text = hex(value, 4);
  switch (verdict.kind) {
    case 'good':
      return { display: `${text} (correct)` };
    case 'absent':
      return { display: `${text} (none)` };
    case 'unverified':
      return { display: `${text} (unverified: ${verdict.why})` };
    case 'bad': {
      const should = hex(verdict.expected, 4);
      const note = verdict.offloaded
        ? `checksum ${text} is the pseudo-header sum left by checksum offload (captured before the NIC filled it in); the real checksum would be ${should}`
        : `checksum ${text} is wrong; it should be ${should}`;
      return { display: `${text} [should be ${should}]`, problem: 'bad checksum', note };
    }
  }
}

/** The checksum's coverage for `ustack view`: frame bytes [start, end), the pseudo-header, the verdict. */
export function checksumCoverage(verdict: ChecksumVerdict, start: number, end: number, pseudoHeader?: PseudoHeader): ChecksumCoverage {
  const coverage: { -readonly [K in keyof ChecksumCoverage]: ChecksumCoverage[K] } = { verdict: verdict.kind, start, end };
  if (verdict.kind === 'bad') coverage.expected = hex(verdict.expected, 4);
  if (verdict.kind === 'unverified') coverage.why = verdict.why;
  if (pseudoHeader !== undefined) coverage.pseudoHeader = pseudoHeader;
  return coverage;
}
