/**
 * `ustack view FILE.pcap [-o FILE.html]`: a capture as one self-contained HTML page (the frame
 * list, each frame's layers as nested boxes over its bytes, checksums with what they cover, per
 * TCP connection a ladder and a time–sequence graph, fragmented datagrams as pieces of the
 * whole), made from ustack's own dissector. The page works offline and fetches nothing.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { accepts, parseCaptureCommand } from '../cli/arguments.js';
import { concatBytes } from '../core/bytes.js';
import { readCaptureUpToCut } from '../pcap/capture-cut.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { readPcapFileUpToCut } from '../pcap/pcap-file.js';
import { renderViewHtml } from './render-html.js';
import { buildViewModel, DEFAULT_MAX_FRAMES, type ViewModel } from './view-model.js';

/** The usage text of the subcommand. */
export const VIEW_USAGE = `usage: ustack view FILE|- [-o FILE.html|-] [--max-frames N]

Writes a capture as one HTML page that any browser opens offline (nothing is fetched): the
frame list; the chosen frame's layers (link, IPv4, ICMP/UDP/TCP, payload) as nested boxes over
its bytes, each labelled with its header's fields — point at a field to light its bytes, at a
byte to light its field; the checksums with the bytes and pseudo-header they cover and whether
they verify; per TCP connection a ladder diagram and a time–sequence graph (segments, the ACK
line, the receive window, SACKed ranges, retransmissions); fragmented IPv4 datagrams as one
datagram made of pieces. Made from \`ustack dissect\`'s dissection (docs/view.md).
  FILE            a pcap or pcapng capture (Ethernet, raw IP, IPv4, Linux cooked v1 and v2); one
                  cut short (tcpdump killed) shows its complete frames; - reads standard input
                  (\`tcpdump -w - | ustack view - > page.html\`)
  -o FILE.html    where to write the page (default: FILE with .html for its extension; for
                  standard input, standard output); - is standard output, the summary then
                  going to standard error
  --max-frames N  show at most the first N frames (default ${DEFAULT_MAX_FRAMES})

Exit status: 0 written, 1 the capture could not be read or the page not written, 2 bad arguments.`;

const OPTIONS = {
  output: { type: 'string', short: 'o', takes: 'FILE.html (where to write the page)' },
  'max-frames': { type: 'string', takes: 'N (a whole number of frames, 1 or more)', accepts: accepts.integer(1, Number.MAX_SAFE_INTEGER) },
} as const;

/** The page's path for a capture at `pcapPath`: the same name with `.html` for its extension. */
export function defaultHtmlPath(pcapPath: string): string {
  return /\.(pcap|pcapng|cap)$/i.test(pcapPath) ? pcapPath.replace(/\.(pcap|pcapng|cap)$/i, '.html') : `${pcapPath}.html`;
}

/** Reads the capture at `pcapPath` and builds its view model; throws with a readable message. */
export async function viewModelOfFile(pcapPath: string, options: { readonly maxFrames?: number; readonly live?: string } = {}): Promise<ViewModel> {
  const capture = await readPcapFileUpToCut(pcapPath);
  return viewModelOfCapture(capture, pcapPath, basename(pcapPath), options);
}

function viewModelOfCapture(
  capture: ReturnType<typeof readCaptureUpToCut>,
  name: string,
  title: string,
  options: { readonly maxFrames?: number; readonly live?: string },
): ViewModel {
  if (!capture.ok) throw new Error(`${name}: not a readable capture: ${capture.error.message} (at byte ${capture.error.offset})`);
  const records: readonly CaptureRecord[] = capture.value.records;
  return buildViewModel(records, { title, maxFrames: options.maxFrames, live: options.live });
}

/** Where `view -` reads from (tests give their own). */
export interface ViewInput {
  /** The bytes of standard input, in chunks; process.stdin by default. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** Where `-o -` (or `view -` without -o) writes the page; process.stdout by default. */
  readonly stdout?: (html: string) => Promise<void>;
}

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  return concatBytes(...chunks);
}

function writeStdout(html: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(html, (error) => (error ? reject(error) : resolve())));
}

/**
 * Writes the page for the capture at `pcapPath` to `htmlPath` (by default beside it, `.html`).
 * Resolves to the path written and the model drawn. The demo calls this after writing its pcap.
 */
export async function writeViewHtml(pcapPath: string, htmlPath = defaultHtmlPath(pcapPath), maxFrames?: number): Promise<{ path: string; model: ViewModel }> {
  const model = await viewModelOfFile(pcapPath, { maxFrames });
  await writeFile(htmlPath, renderViewHtml(model));
  return { path: htmlPath, model };
}

/**
 * Runs `ustack view` with `args` (the words after `view`), printing through `out` and errors
 * through `err`. Resolves to the exit code.
 */
export async function runView(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  input: ViewInput = {},
): Promise<number> {
  const start = parseCaptureCommand('view', args, OPTIONS, VIEW_USAGE, out, err);
  if (typeof start === 'number') return start;
  const { parsed, path } = start;
  const maxFrames = parsed.values['max-frames'] === undefined ? undefined : Number(parsed.values['max-frames']);
  // `-` reads the capture from standard input, as `dissect -` does; its page goes to standard
  // output unless -o names a file (there is no file name to put it beside).
  const fromStdin = path === '-';
  const output = parsed.values.output ?? (fromStdin ? '-' : defaultHtmlPath(path));
  const toStdout = output === '-';
  try {
    let written: string;
    let model: ViewModel;
    if (fromStdin) {
      const capture = readCaptureUpToCut(await readAll(input.stdin ?? process.stdin));
      model = viewModelOfCapture(capture, 'standard input', 'standard input', { maxFrames });
    } else model = await viewModelOfFile(path, { maxFrames });
    if (toStdout) {
      await (input.stdout ?? writeStdout)(renderViewHtml(model));
      written = 'standard output';
    } else {
      await writeFile(output, renderViewHtml(model));
      written = output;
    }
    const retransmissions = model.connections.reduce((n, c) => n + c.segments.filter((s) => s.retransmission).length, 0);
    // With the page on standard output, the summary goes where it does not mix with the page.
    (toStdout ? err : out)(
      `wrote ${written}: ${model.frames.length} frames${model.omittedFrames > 0 ? ` (${model.omittedFrames} more left out)` : ''}, ` +
        `${model.connections.length} TCP connection${model.connections.length === 1 ? '' : 's'} (${retransmissions} retransmissions), ` +
        `${model.datagrams.length} fragmented datagram${model.datagrams.length === 1 ? '' : 's'}`,
    );
    return 0;
  } catch (error) {
    err(`ustack view: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
