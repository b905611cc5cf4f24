/**
 * `ustack dissect FILE|- [-c N] [-Y FILTER] [--json]`: every frame of a pcap or pcapng file (or of standard
 * input) taken apart layer by layer. Text mode prints each layer's header byte range, fields and
 * payload handoff; `--json` prints one JSON object per frame and line, keyed by Wireshark field
 * names, with values as `tshark -T fields` prints them (see src/dissect/dissection.ts for the
 * field list); `-Y` keeps the frames a display filter matches (src/dissect/display-filter.ts).
 * Where tshark has a behaviour (`-c`, `-Y`, a file cut short, its warning and exit status), this
 * command has the same one.
 */
import { concatBytes } from '../core/bytes.js';
import { dissectFrame, toTsharkFields } from '../dissect/dissect.js';
import { compileDisplayFilter, describeFilterFields, FILTER_PROTOCOLS, type DisplayFilter } from '../dissect/display-filter.js';
import { formatDissection } from '../dissect/format-text.js';
import { readCaptureUpToCut, type CaptureCut, type CaptureUpToCut } from '../pcap/capture-cut.js';
import type { CaptureDecodeError } from '../pcap/capture.js';
import { readPcapFileUpToCut } from '../pcap/pcap-file.js';
import type { Result } from '../core/result.js';
import { accepts, parseCommandLine, UsageError } from './arguments.js';

/** The filter's fields by type, wrapped for the usage text. */
const FILTER_FIELD_LINES = describeFilterFields()
  .split('\n')
  .flatMap((line) => wrap(line, 84).map((part, i) => `             ${i === 0 ? '' : '  '}${part}`))
  .join('\n');

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The usage text of the subcommand. */
export const DISSECT_USAGE = `usage: ustack dissect FILE|- [-c N] [-Y FILTER] [--json]

Prints every frame of a pcap or pcapng capture layer by layer: each header's byte range in the
frame, its fields (bad checksums and malformed lengths flagged), and the payload it hands on.
Link types: Ethernet (1), raw IP (101), IPv4 (228), IPv6 (229), Linux cooked capture v1 (113) and v2 (276).
  FILE     the capture; - reads it from standard input (\`tcpdump -w - | ustack dissect -\`)
  -c N     stop after the first N frames of the capture (as tshark's -c: counted before -Y)
  -Y FILTER
           print only the frames FILTER matches (frame numbers stay the capture's), in a subset
           of Wireshark's display filters, with tshark's meaning:
             tcp.port == 80 && tcp.flags.syn == 1      ip.addr == 10.0.0.0/8 || arp
             !(udp.port == 53) and frame.len > 100     sll.pkttype != 4
           a field or protocol alone tests that the frame has it; ==, !=, <, >, <=, >= (or eq, ne,
           lt, gt, le, ge) compare it with a number (decimal, 0x hex), True/False, an IPv4
           address (a.b.c.d, or a.b.c.d/n with == and !=), an IPv6 address (or address/n), a MAC or hex bytes
           (aa:bb:cc), or a "string" (byte fields only); && (and), || (or), ! (not), ( ).
           == < > <= >= hold if any occurrence of the field does, != if none is equal.
           Anything else (contains, matches, in {…}, slices, functions, arithmetic, comparing
           two fields) is refused, naming the part (exit 2).
           Protocols: ${[...FILTER_PROTOCOLS.keys()].join(' ')}
           Fields (tcp.port, udp.port, ip.addr, ipv6.addr and eth.addr are either end's):
${FILTER_FIELD_LINES}
  --json   one JSON object per frame and line, with Wireshark's field names and tshark's
           -T fields values (for comparison with tshark)

A capture cut short (tcpdump killed in the middle of a write) prints every complete frame, then
tshark's warning on stderr, and exits with tshark's status 2.
Exit status: 0 done, 1 the file could not be read or is not a capture, 2 bad arguments or a
capture cut short.`;

const OPTIONS = {
  json: { type: 'boolean' },
  count: { type: 'string', short: 'c', takes: 'N (a whole number of frames, 1 or more)', accepts: accepts.integer(1, Number.MAX_SAFE_INTEGER) },
  filter: { type: 'string', short: 'Y', takes: 'a display FILTER (`ustack dissect --help` shows the subset)' },
} as const;

/** tshark's exit status for a capture cut short. */
const EXIT_CUT_SHORT = 2;

/** Where `dissect -` reads from (tests give their own). */
export interface DissectInput {
  /** The bytes of standard input, in chunks; process.stdin by default. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
}

/**
 * Runs `ustack dissect` with `args` (the words after `dissect`), printing through `out` (one
 * line per call) and errors through `err`. Resolves to the exit code: 0 done, 1 the file could
 * not be read or is not a capture, 2 bad arguments or a capture cut short (its complete frames
 * printed first, then tshark's warning).
 */
export async function runDissect(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  input: DissectInput = {},
): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine('dissect', args, OPTIONS, { maxPositionals: Infinity });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(error.message);
    return error.exitCode;
  }
  if (parsed.help) {
    out(DISSECT_USAGE);
    return 0;
  }
  const files = parsed.positionals;
  if (files.length !== 1) {
    err(files.length === 0 ? 'ustack dissect: which capture FILE? (`ustack dissect --help`)' : `ustack dissect: takes one capture FILE, not ${files.length}`);
    return 2;
  }
  const [path] = files;
  const fromStdin = path === '-';
  const name = fromStdin ? 'standard input' : path;
  const count = parsed.values.count === undefined ? Infinity : Number(parsed.values.count);
  let filter: DisplayFilter | undefined;
  if (parsed.values.filter !== undefined) {
    const compiled = compileDisplayFilter(parsed.values.filter);
    if (!compiled.ok) {
      err(`ustack dissect: -Y '${parsed.values.filter}': ${compiled.error.message} (at character ${compiled.error.at + 1})`);
      return 2;
    }
    filter = compiled.value;
  }

  let capture: Result<CaptureUpToCut, CaptureDecodeError>;
  try {
    capture = fromStdin ? readCaptureUpToCut(await readAll(input.stdin ?? process.stdin)) : await readPcapFileUpToCut(path);
  } catch (error) {
    err(`ustack dissect: ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (!capture.ok) {
    err(`ustack dissect: ${name}: not a readable capture: ${capture.error.message} (at byte ${capture.error.offset})`);
    return 1;
  }

  const { records, cut } = capture.value;
  let printed = 0;
  records.slice(0, count).forEach((record, index) => {
    const dissection = dissectFrame(record.data, record.linkType, index + 1, { originalLength: record.originalLength });
    if (filter !== undefined && !filter.matches(dissection)) return;
    if (parsed.values.json) {
      out(JSON.stringify(toTsharkFields(dissection)));
      return;
    }
    if (printed++ > 0) out('');
    for (const line of formatDissection(dissection, { time: record, frame: record.data })) out(line);
  });
  // As tshark: with -c, a cut after the frames asked for is never reached.
  if (cut !== undefined && records.length < count) {
    err(`ustack dissect: ${cutShortWarning(fromStdin ? 'The standard input' : `The file "${path}"`, cut)}`);
    return EXIT_CUT_SHORT;
  }
  return 0;
}

/** tshark's sentence for a cut (`what`: `The file "x.pcap"` or `The standard input`). */
export function cutShortWarning(what: string, cut: CaptureCut): string {
  return `${what} appears to have been cut short in the middle of a packet${cut.whileOpening ? ' or other data' : ''}.`;
}

/** Every byte of `stream`, in one array. */
async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  return concatBytes(...chunks);
}
