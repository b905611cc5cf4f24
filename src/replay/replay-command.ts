/**
 * `ustack replay FILE --host ADDR [--linux] [--strict] [--json]`: replays a capture into ustack
 * with ADDR's end played by ustack (replayCapture, src/replay/replay.ts) and prints every
 * divergence; exit status 0 when there is none, 1 when there are (or the capture cannot be read).
 */
import { accepts, parseCaptureCommand } from '../cli/arguments.js';
import { parseIpv6Address } from '../ip/ipv6-address.js';
import type { DecodedSegment, Divergence } from './compare.js';
import type { DecodedDatagram } from './datagram-compare.js';
import { replayCapture, ReplayError, type ReplayResult } from './replay.js';

/** The usage text of the subcommand. */
export const REPLAY_USAGE = `usage: ustack replay FILE --host ADDR [--linux] [--strict] [--json] [--tcp-only]
                     [--conversation N]... [--time-tolerance MS] [--window-tolerance BYTES]

Plays the TCP segments of a pcap or pcapng capture that arrived at ADDR into ustack, in virtual
time at their recorded spacing, with ADDR's application as the capture shows it (a host that
answered a SYN listened, one that sent it connected; what it sent it wrote), and compares what
ustack sends with what ADDR sent: sequence numbers, acknowledgements, timestamps and ISNs
relative as packetdrill's, ports mapped, payloads byte for byte, windows and times within the
tolerances. Segments are lined up by what they carry; a segment only one side sent is missing
or extra. UDP and ICMP too: the packets that reached ADDR go in as captured, its UDP sockets
(a port it sent datagrams from was bound) send what it sent, and ustack's datagrams, echo
replies and ICMP errors are compared with ADDR's (payload, IP header, fragments, time).
  FILE                  the capture (Ethernet, raw IP, IPv4, IPv6, Linux cooked v1 and v2)
  --host ADDR           the end ustack plays, IPv4 or IPv6 (10.0.0.2, fd00::2): its family's
                        packets are replayed (IPv6: MLD and Neighbor Discovery left out)
  --linux               Linux's defaults rather than ustack's (its profile: quick ACKs, window
                        updates, RTT, CUBIC; ECN only when asked; a 32 MiB buffer limit)
  --strict              options compared as laid out (order, nop), PSH compared, windows exact
  --json                one JSON object: pass, divergences (both segments decoded), conversations
  --conversation N      only the Nth TCP conversation of the capture (repeatable; default: all of
                        ADDR's); no UDP or ICMP then
  --tcp-only            TCP conversations only, no UDP or ICMP
  --time-tolerance MS   how far a segment's time may stray (default 4, packetdrill's)
  --window-tolerance BYTES
                        how far an advertised window may stray, after scaling (default 0)

Exit status: 0 no divergence, 1 divergences (or an unreadable capture), 2 bad arguments
(docs/replay.md).`;

const OPTIONS = {
  host: {
    type: 'string',
    takes: 'an IPv4 or IPv6 ADDR (a.b.c.d, fd00::2)',
    accepts: (value: string) => accepts.ipv4(value) || parseIpv6Address(value) !== null,
  },
  linux: { type: 'boolean' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  'tcp-only': { type: 'boolean' },
  conversation: { type: 'string', multiple: true, takes: 'N (a conversation number, 1 or more)', accepts: accepts.integer(1, Number.MAX_SAFE_INTEGER) },
  'time-tolerance': { type: 'string', takes: 'MS (0 or more)', accepts: accepts.seconds },
  'window-tolerance': { type: 'string', takes: 'BYTES (0 or more)', accepts: accepts.seconds },
} as const;

/** A segment or datagram for JSON: its payload as hex. */
function segmentJson(segment: DecodedSegment | DecodedDatagram | undefined): unknown {
  if (!segment) return undefined;
  return { ...segment, payload: Buffer.from(segment.payload).toString('hex') };
}

/** The result as plain JSON (payloads and the pcap as hex, the pcap left out). */
export function replayResultJson(result: ReplayResult): unknown {
  return {
    pass: result.pass,
    divergences: result.divergences.map((d: Divergence) => ({
      ...d,
      expected: segmentJson(d.expected),
      actual: segmentJson(d.actual),
      expectedDatagram: segmentJson(d.expectedDatagram),
      actualDatagram: segmentJson(d.actualDatagram),
    })),
    conversations: result.conversations,
    datagrams: result.datagrams,
    framesNotReplayed: result.framesNotReplayed,
    notes: result.notes,
    settings: result.settings,
  };
}

/** What a reader sees: each conversation, each divergence with both segments, a last line. */
export function formatReplayResult(result: ReplayResult, path: string, host: string): string[] {
  const lines: string[] = [];
  const { tolerances } = result.settings;
  lines.push(
    `replay ${path} as ${host}: ${result.settings.linux ? "Linux's defaults" : "ustack's defaults"}${result.settings.strict ? ', strict' : ''}, MTU ${result.settings.mtu}, tolerances ${tolerances.timeMs} ms, window ${tolerances.windowBytes} bytes, TS val ${tolerances.tsValTicks} ticks`,
  );
  for (const c of result.conversations) {
    lines.push(
      `conversation ${c.number}: ${c.host} (${c.role === 'none' ? 'no socket' : c.role}) with ${c.peer}: ${c.inbound} segment${c.inbound === 1 ? '' : 's'} in${c.lostBeforeHost.length > 0 ? ` (${c.lostBeforeHost.length} lost before the host, not played: frames ${c.lostBeforeHost.join(', ')})` : ''}; the host sent ${c.expected}, ustack ${c.actual}, ${c.matched} lined up${c.unseenByTap.length > 0 ? ` (${c.unseenByTap.length} of ustack's the host's first sending of which the tap never saw: replay frames ${c.unseenByTap.join(', ')})` : ''}`,
    );
    for (const d of result.divergences.filter((entry) => entry.conversation === c.number)) lines.push(...formatDivergence(d));
  }
  for (const d of result.divergences.filter((entry) => entry.conversation === 0 && entry.datagram === undefined)) lines.push(...formatDivergence(d));
  const datagrams = result.datagrams;
  if (datagrams) {
    const sockets = datagrams.sockets.map((s) => `${s.port} (${s.sends} sent)`).join(', ');
    lines.push(
      `datagrams: ${datagrams.inbound} packet${datagrams.inbound === 1 ? '' : 's'} in; UDP sockets: ${sockets || 'none'}; the host sent ${datagrams.expected}, ustack ${datagrams.actual}, ${datagrams.matched} lined up`,
    );
    for (const d of result.divergences.filter((entry) => entry.datagram !== undefined)) lines.push(...formatDivergence(d));
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  if (result.framesNotReplayed > 0)
    lines.push(
      `note: ${result.framesNotReplayed} frames not replayed (not of the host's family, not the host's, link-layer, or of conversations not replayed)`,
    );
  if (result.pass) lines.push('PASS: no divergence');
  else {
    const counts = new Map<string, number>();
    for (const d of result.divergences) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
    lines.push(
      `FAIL: ${result.divergences.length} divergence${result.divergences.length === 1 ? '' : 's'} (${[...counts].map(([kind, n]) => `${kind} ${n}`).join(', ')})`,
    );
  }
  return lines;
}

function formatDivergence(d: Divergence): string[] {
  const lines = [`  ${d.kind}: ${d.message}`];
  if (d.expected) lines.push(`    host:   ${d.expected.text} at ${d.expected.timeMs.toFixed(3)} ms (capture frame ${d.expected.frame})`);
  if (d.actual) lines.push(`    ustack: ${d.actual.text} at ${d.actual.timeMs.toFixed(3)} ms (replay frame ${d.actual.frame})`);
  const frames = (list: readonly number[]) => (list.length === 1 ? `frame ${list[0]}` : `frames ${list.join(', ')}`);
  const header = (datagram: DecodedDatagram) =>
    `TTL ${datagram.ttl}, DF ${datagram.dontFragment ? 1 : 0}, TOS 0x${datagram.tos.toString(16).padStart(2, '0')}${datagram.ipOptions ? `, options <${datagram.ipOptions}>` : ''}`;
  if (d.expectedDatagram)
    lines.push(
      `    host:   ${d.expectedDatagram.text}; ${header(d.expectedDatagram)} at ${d.expectedDatagram.timeMs.toFixed(3)} ms (capture ${frames(d.expectedDatagram.frames)})`,
    );
  if (d.actualDatagram)
    lines.push(
      `    ustack: ${d.actualDatagram.text}; ${header(d.actualDatagram)} at ${d.actualDatagram.timeMs.toFixed(3)} ms (replay ${frames(d.actualDatagram.frames)})`,
    );
  return lines;
}

/**
 * Runs `ustack replay` with `args` (the words after `replay`), printing through `out` and errors
 * through `err`. Resolves to the exit code: 0 no divergence, 1 divergences or an unreadable
 * capture, 2 bad arguments.
 */
export async function runReplay(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const start = parseCaptureCommand('replay', args, OPTIONS, REPLAY_USAGE, out, err);
  if (typeof start === 'number') return start;
  const { parsed, path } = start;
  const host = parsed.values.host;
  if (host === undefined) {
    err('ustack replay: --host ADDR is needed: the end of the capture that ustack plays');
    return 2;
  }
  let result: ReplayResult;
  try {
    result = await replayCapture(path, {
      host,
      linux: parsed.values.linux ?? false,
      strict: parsed.values.strict ?? false,
      conversations: parsed.values.conversation?.map(Number),
      datagrams: parsed.values['tcp-only'] ? false : undefined,
      tolerances: {
        timeMs: parsed.values['time-tolerance'] === undefined ? undefined : Number(parsed.values['time-tolerance']),
        windowBytes: parsed.values['window-tolerance'] === undefined ? undefined : Number(parsed.values['window-tolerance']),
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof ReplayError || code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      err(`ustack replay: ${path}: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
    throw error;
  }
  if (parsed.values.json) out(JSON.stringify(replayResultJson(result)));
  else for (const line of formatReplayResult(result, path, host)) out(line);
  return result.pass ? 0 : 1;
}
