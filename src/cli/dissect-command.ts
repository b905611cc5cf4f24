/**
 * `ustack dissect FILE [--json]`: every frame of a pcap or pcapng file taken apart layer by
 * layer. Text mode prints each layer's header byte range, fields and payload handoff; `--json`
 * prints one JSON object per frame and line, keyed by Wireshark field names, with values as
 * `tshark -T fields` prints them (see src/dissect/dissection.ts for the field list).
 */
import { dissectFrame, toTsharkFields } from '../dissect/dissect.js';
import { formatDissection } from '../dissect/format-text.js';
import type { CaptureCut } from '../pcap/capture-cut.js';
import { readPcapFileUpToCut } from '../pcap/pcap-file.js';

/** The usage text of the subcommand. */
export const DISSECT_USAGE = `usage: ustack dissect FILE [--json]

Prints every frame of a pcap or pcapng capture layer by layer: each header's byte range in the
frame, its fields (bad checksums and malformed lengths flagged), and the payload it hands on.
  --json   one JSON object per frame and line, with Wireshark's field names and tshark's
           -T fields values (for comparison with tshark)

A capture cut short (tcpdump killed in the middle of a write) prints every complete frame, then
tshark's warning on stderr, and exits with tshark's status 2.
Exit status: 0 done, 1 the file could not be read or is not a capture, 2 bad arguments or a
capture cut short.`;

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
): Promise<number> {
  if (args.some((arg) => arg === '--help' || arg === '-h')) {
    out(DISSECT_USAGE);
    return 0;
  }
  let json = false;
  const files: string[] = [];
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg.startsWith('-') && arg !== '-') {
      err(`ustack dissect: unknown option ${arg} (\`ustack dissect --help\` lists the options)`);
      return 2;
    } else files.push(arg);
  }
  if (files.length !== 1) {
    err(files.length === 0 ? 'ustack dissect: which capture FILE? (`ustack dissect --help`)' : `ustack dissect: takes one capture FILE, not ${files.length}`);
    return 2;
  }
  const [path] = files;

  let capture;
  try {
    capture = await readPcapFileUpToCut(path);
  } catch (error) {
    err(`ustack dissect: ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (!capture.ok) {
    err(`ustack dissect: ${path}: not a readable capture: ${capture.error.message} (at byte ${capture.error.offset})`);
    return 1;
  }

  const { records, cut } = capture.value;
  records.forEach((record, index) => {
    const dissection = dissectFrame(record.data, record.linkType, index + 1, { originalLength: record.originalLength });
    if (json) {
      out(JSON.stringify(toTsharkFields(dissection)));
      return;
    }
    if (index > 0) out('');
    for (const line of formatDissection(dissection, { time: record, frame: record.data })) out(line);
  });
  if (cut !== undefined) {
    err(`ustack dissect: ${cutShortWarning(`The file "${path}"`, cut)}`);
    return EXIT_CUT_SHORT;
  }
  return 0;
}

/** tshark's exit status for a capture cut short. */
const EXIT_CUT_SHORT = 2;

/** tshark's sentence for a cut (`what`: `The file "x.pcap"` or `The standard input`). */
export function cutShortWarning(what: string, cut: CaptureCut): string {
  return `${what} appears to have been cut short in the middle of a packet${cut.whileOpening ? ' or other data' : ''}.`;
}
