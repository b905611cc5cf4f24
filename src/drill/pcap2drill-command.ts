/**
 * `ustack pcap2drill FILE --host ADDR [--conversation N]`: one TCP conversation of a pcap or
 * pcapng capture printed as a packetdrill script that `ustack drill` runs, so that a capture of a
 * bug becomes a regression test in one command. The conversion itself is pcapToScript
 * (src/drill/pcap-to-script.ts).
 */
import { parseIpv4Address } from '../ip/address.js';
import type { IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, parseIpv6Address } from '../ip/ipv6-address.js';
import { readPcapFile } from '../pcap/pcap-file.js';
import { accepts, parseCaptureCommand } from '../cli/arguments.js';
import { pcapToScript, PcapToScriptError } from './pcap-to-script.js';

/** The usage text of the subcommand. */
export const PCAP2DRILL_USAGE = `usage: ustack pcap2drill FILE --host ADDR [--conversation N]

Prints one TCP conversation of a pcap or pcapng capture as a packetdrill script for
\`ustack drill\` (\`ustack pcap2drill bug.pcap --host 10.0.0.2 > bug.pkt\`).
  FILE                the capture (Ethernet, raw IP, IPv4, IPv6, Linux cooked v1 and v2 link types)
  --host ADDR         the end the script plays as the stack under test (IPv4 or IPv6; an IPv6
                      host's conversation becomes an --ip_version=ipv6 script): its segments become
                      outbound lines (> …), its peer's inbound ones (< …); a host that answered
                      the SYN listened and accepted, one that sent it connected; data it sent is
                      written, data it acknowledged read, a FIN it sent is a close
  --conversation N    the Nth TCP conversation of --host's family in the capture, in order of
                      first appearance (default 1)

Sequence numbers are relative to each side's ISN (the peer's SYN is 0:0(0)), the host's TS val
relative to its first; times are the capture's, +seconds from the previous line. The host's
window and IP ECN marks are not written, so they are not checked (docs/drill.md).
Exit status: 0 done, 1 the file could not be read or holds no such conversation, 2 bad arguments.`;

const OPTIONS = {
  host: { type: 'string', takes: 'an IPv4 or IPv6 ADDR (a.b.c.d, fd00::2)', accepts: (value: string) => hostAddress(value) !== null },
  conversation: { type: 'string', takes: 'N (a conversation number, 1 or more)', accepts: accepts.integer(1, Number.MAX_SAFE_INTEGER) },
} as const;

/** `--host`'s address: an IPv4 uint32, or IPv6 in its RFC 5952 text (the form pcapToScript compares); null if neither. */
function hostAddress(text: string): IpAddress | null {
  const ipv4 = parseIpv4Address(text);
  if (ipv4 !== null) return ipv4;
  const ipv6 = parseIpv6Address(text);
  return ipv6 === null ? null : formatIpv6Address(ipv6);
}

/**
 * Runs `ustack pcap2drill` with `args` (the words after `pcap2drill`), printing the script
 * through `out` and errors through `err`. Resolves to the exit code: 0 done, 1 the capture could
 * not be read or converted, 2 bad arguments.
 */
export async function runPcap2drill(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const start = parseCaptureCommand('pcap2drill', args, OPTIONS, PCAP2DRILL_USAGE, out, err);
  if (typeof start === 'number') return start;
  const { parsed, path } = start;
  const host = parsed.values.host === undefined ? null : hostAddress(parsed.values.host);
  if (host === null) {
    err('ustack pcap2drill: --host ADDR is needed: the end of the conversation the script plays as the stack under test');
    return 2;
  }
  let capture;
  try {
    capture = await readPcapFile(path);
  } catch (error) {
    err(`ustack pcap2drill: ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (!capture.ok) {
    err(`ustack pcap2drill: ${path}: not a readable capture: ${capture.error.message} (at byte ${capture.error.offset})`);
    return 1;
  }
  let script: string;
  try {
    script = pcapToScript(capture.value.records, {
      host,
      conversation: parsed.values.conversation === undefined ? 1 : Number(parsed.values.conversation),
      sourceName: path,
    });
  } catch (error) {
    if (!(error instanceof PcapToScriptError)) throw error;
    err(`ustack pcap2drill: ${path}: ${error.message}`);
    return 1;
  }
  out(script.replace(/\n$/, ''));
  return 0;
}
