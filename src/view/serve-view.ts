/**
 * `GET /view` of `ustack up --serve http`: the page `ustack view` makes, of the capture `up`
 * is recording (`--pcap FILE`) as it stands at the request — its latest frames, since a live
 * capture is watched for what just happened. Up to LIVE_VIEW_MAX_FRAMES frames and
 * LIVE_VIEW_MAX_BYTES of them are shown, numbered as in the whole file, and the page says how
 * many earlier ones it leaves out; a record still being written is left out, as `ustack
 * dissect` leaves out a record cut short.
 *
 * Finding the latest records of a classic pcap means walking its record headers from the start
 * (a record boundary cannot be found from the end). The walk is kept between requests
 * (LiveCaptureIndex), so each request reads only what was appended since, and then the
 * window's bytes. A pcapng file (not what up writes) is read up to its first
 * LIVE_VIEW_MAX_BYTES and its latest frames within them shown.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { readCaptureUpToCut } from '../pcap/capture-cut.js';
import { MAX_CAPTURED_LENGTH } from '../pcap/capture.js';
import { PCAP_GLOBAL_HEADER_LENGTH, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, PCAP_RECORD_HEADER_LENGTH } from '../pcap/pcap-reader.js';
import { timestampToMs } from '../pcap/timestamp.js';
import { renderViewHtml } from './render-html.js';
import { buildViewModel } from './view-model.js';

/** The most bytes of records a live view reads for its page. */
export const LIVE_VIEW_MAX_BYTES = 32 * 1024 * 1024;
/** The most frames a live view shows: the latest this many. */
export const LIVE_VIEW_MAX_FRAMES = 2000;

/** How much of the file one read of the walk takes. */
const SCAN_CHUNK = 1024 * 1024;

/** One record of the file: where it starts and how long it is with its header. */
interface RecordSpan {
  readonly offset: number;
  readonly length: number;
}

/** What the walk of one capture file has learnt so far. */
interface ScanState {
  /** The file, by device and inode: another file at the path starts a new walk. */
  readonly identity: string;
  /** The global header (24 bytes). */
  readonly header: Uint8Array;
  readonly littleEndian: boolean;
  /** Record times count nanoseconds (else microseconds). */
  readonly nanoseconds: boolean;
  /** Where the next record starts: the walk resumes here. */
  scannedTo: number;
  /** Complete records walked. */
  count: number;
  /** The latest records walked, oldest first (at most twice the window; trimmed as it grows). */
  latest: RecordSpan[];
  /** The first record's time, ms (undefined before one is complete). */
  originMs: number | undefined;
}

/** The latest frames of a capture file, as a page's model wants them. */
export interface LiveWindow {
  /** A capture (pcap bytes: the file's global header, then the window's records). */
  readonly bytes: Uint8Array;
  /** Complete frames in the file before the window. */
  readonly earlierFrames: number;
  /** The first frame's time, ms. */
  readonly originMs: number | undefined;
  /** The file's size at the read. */
  readonly size: number;
}

/**
 * The record walk of capture files, kept between requests: each `latest` call reads what was
 * appended since the last one (a file that shrank or was replaced is walked again).
 */
export class LiveCaptureIndex {
  private readonly states = new Map<string, ScanState>();

  /** The latest `maxFrames` complete frames (within `maxBytes`) of the capture at `path`. */
  async latest(path: string, maxFrames = LIVE_VIEW_MAX_FRAMES, maxBytes = LIVE_VIEW_MAX_BYTES): Promise<LiveWindow> {
    const file = await open(path, 'r');
    try {
      const stat = await file.stat();
      const size = stat.size;
      const identity = `${stat.dev}:${stat.ino}`;
      const magic = await readAt(file, 0, Math.min(size, PCAP_GLOBAL_HEADER_LENGTH));
      const view = new DataView(magic.buffer, magic.byteOffset, magic.byteLength);
      const word = magic.length >= 4 ? view.getUint32(0, false) : 0;
      const swapped = magic.length >= 4 ? view.getUint32(0, true) : 0;
      const isPcap = [PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS].includes(word) || [PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS].includes(swapped);
      if (!isPcap || magic.length < PCAP_GLOBAL_HEADER_LENGTH) {
        // pcapng, or too short to say: the first maxBytes, the parser's verdict on them.
        this.states.delete(path);
        const bytes = await readAt(file, 0, Math.min(size, maxBytes));
        return { bytes, earlierFrames: 0, originMs: undefined, size };
      }
      let state = this.states.get(path);
      if (!state || state.identity !== identity || size < state.scannedTo || !sameBytes(state.header, magic)) {
        state = {
          identity,
          header: magic,
          littleEndian: [PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS].includes(swapped),
          nanoseconds: word === PCAP_MAGIC_NANOSECONDS || swapped === PCAP_MAGIC_NANOSECONDS,
          scannedTo: PCAP_GLOBAL_HEADER_LENGTH,
          count: 0,
          latest: [],
          originMs: undefined,
        };
        this.states.set(path, state);
      }
      await walk(file, state, size, maxFrames);
      // The window: the latest records, as many as fit maxBytes.
      let first = Math.max(0, state.latest.length - maxFrames);
      const end = state.latest.length > 0 ? state.latest[state.latest.length - 1].offset + state.latest[state.latest.length - 1].length : 0;
      while (first < state.latest.length - 1 && end - state.latest[first].offset > maxBytes) first++;
      const window = state.latest.slice(first);
      const records = window.length > 0 ? await readAt(file, window[0].offset, end - window[0].offset) : new Uint8Array(0);
      const bytes = new Uint8Array(PCAP_GLOBAL_HEADER_LENGTH + records.length);
      bytes.set(state.header);
      bytes.set(records, PCAP_GLOBAL_HEADER_LENGTH);
      return { bytes, earlierFrames: state.count - window.length, originMs: state.originMs, size };
    } finally {
      await file.close();
    }
  }
}

/** Walks the record headers from `state.scannedTo` up to the last complete record before `size`. */
async function walk(file: FileHandle, state: ScanState, size: number, maxFrames: number): Promise<void> {
  while (state.scannedTo + PCAP_RECORD_HEADER_LENGTH <= size) {
    const chunk = await readAt(file, state.scannedTo, Math.min(SCAN_CHUNK, size - state.scannedTo));
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at + PCAP_RECORD_HEADER_LENGTH <= chunk.length) {
      const captured = view.getUint32(at + 8, state.littleEndian);
      // A length no writer produces: the file is not what its header says (left to the parser,
      // which names the fault); the walk stops here.
      if (captured > MAX_CAPTURED_LENGTH) return;
      const length = PCAP_RECORD_HEADER_LENGTH + captured;
      if (at + length > chunk.length) break;
      const offset = state.scannedTo + at;
      if (state.originMs === undefined) {
        const seconds = view.getUint32(at, state.littleEndian);
        const fraction = view.getUint32(at + 4, state.littleEndian);
        state.originMs = timestampToMs({ seconds, nanoseconds: state.nanoseconds ? fraction : fraction * 1000 });
      }
      state.latest.push({ offset, length });
      state.count++;
      at += length;
    }
    // Not one whole record in the chunk: the last record is still being written (a chunk holds
    // the longest record, MAX_CAPTURED_LENGTH, four times over).
    if (at === 0) return;
    state.scannedTo += at;
    if (state.latest.length > 2 * maxFrames) state.latest.splice(0, state.latest.length - maxFrames);
  }
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(Math.max(0, length));
  const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The walks of the captures `/view` has shown, kept for the next request. */
const liveIndex = new LiveCaptureIndex();

/** Options for liveViewHtml. */
export interface LiveViewOptions {
  /** The time the page says it shows (default: now). */
  readonly now?: Date;
  /** How many of the latest frames (default LIVE_VIEW_MAX_FRAMES). */
  readonly maxFrames?: number;
  /** The index to walk the file with (default: the one kept for `/view`). */
  readonly index?: LiveCaptureIndex;
}

/** The page for the capture at `capturePath` as it is now; throws when the file cannot be read. */
export async function liveViewHtml(capturePath: string, options: LiveViewOptions = {}): Promise<string> {
  const now = options.now ?? new Date();
  const maxFrames = options.maxFrames ?? LIVE_VIEW_MAX_FRAMES;
  const window = await (options.index ?? liveIndex).latest(capturePath, maxFrames);
  const capture = readCaptureUpToCut(window.bytes);
  if (!capture.ok) throw new Error(`${capturePath}: not a readable capture: ${capture.error.message}`);
  // pcapng read whole: its latest frames within what was read.
  const records = capture.value.records;
  const kept = records.slice(Math.max(0, records.length - maxFrames));
  const earlierFrames = window.earlierFrames + records.length - kept.length;
  const originMs = window.originMs ?? (records.length > 0 ? timestampToMs(records[0]) : undefined);
  const note =
    `live capture ${basename(capturePath)} as of ${now.toISOString()}: ` +
    (earlierFrames > 0 ? `its latest ${kept.length} frames; the ${earlierFrames} before them are not shown` : `all ${kept.length} frames`) +
    ` (reload for newer frames)`;
  return renderViewHtml(buildViewModel(kept, { title: basename(capturePath), maxFrames, live: note, earlierFrames, originMs }));
}

/** Answers `GET /view`: the live page, or a plain-text reason why there is none. */
export async function serveView(response: ServerResponse, capturePath: string | undefined): Promise<void> {
  if (capturePath === undefined) {
    response.statusCode = 404;
    response.setHeader('content-type', 'text/plain; charset=utf-8');
    response.end('no capture is being recorded: start ustack up with --pcap FILE, and /view shows it (as `ustack view FILE` does)\n');
    return;
  }
  try {
    const html = await liveViewHtml(capturePath);
    response.setHeader('content-type', 'text/html; charset=utf-8');
    // The page fetches nothing; say so to the browser too.
    response.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
    response.setHeader('cache-control', 'no-store');
    response.end(html);
  } catch (error) {
    response.statusCode = 500;
    response.setHeader('content-type', 'text/plain; charset=utf-8');
    response.end(`cannot show ${capturePath}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
