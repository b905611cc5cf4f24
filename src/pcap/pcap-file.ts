/**
 * Capture files on disk, for the CLI and the drivers. The codecs in this folder never touch
 * the file system; these helpers are the only place that does. File-system failures (a missing
 * file, a full disk) throw as node:fs does; a file that is not a valid capture is a Result.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Result } from '../core/result.js';
import type { CaptureDecodeError } from './capture.js';
import { readCaptureUpToCut, type CaptureUpToCut } from './capture-cut.js';
import { readCapture, type CaptureFile } from './pcap.js';
import { PcapWriter } from './pcap-writer.js';

/** Writes a whole capture — a PcapWriter's bytes so far, or bytes already assembled — to `path`. */
export async function writePcapFile(path: string, capture: PcapWriter | Uint8Array): Promise<void> {
  await writeFile(path, capture instanceof PcapWriter ? capture.toBytes() : capture);
}

/** Reads and decodes the pcap or pcapng file at `path`. */
export async function readPcapFile(path: string): Promise<Result<CaptureFile, CaptureDecodeError>> {
  const bytes = await readFile(path);
  return readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/**
 * Reads the pcap or pcapng file at `path` as far as it goes: every complete record, and where
 * the file was cut short if it was (see capture-cut.ts).
 */
export async function readPcapFileUpToCut(path: string): Promise<Result<CaptureUpToCut, CaptureDecodeError>> {
  const bytes = await readFile(path);
  return readCaptureUpToCut(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** A file that capture chunks are appended to as they are produced. */
export interface PcapFileSink {
  /** Pass as `PcapWriterOptions.onChunk`: appends `chunk` to the file synchronously. */
  readonly write: (chunk: Uint8Array) => void;
  /** Closes the file; later writes throw. */
  close(): void;
}

/**
 * Opens (creating or truncating) `path` for streaming a capture into it:
 * `new PcapWriter({ linkType, onChunk: sink.write })`. Writes are synchronous, so every frame
 * is on disk before the stack moves on and a crash loses nothing already recorded.
 */
export function openPcapFileSink(path: string): PcapFileSink {
  let fd: number | undefined = openSync(path, 'w');
  return {
    write: (chunk) => {
      if (fd === undefined) throw new Error(`capture file ${path} is closed`);
      let written = 0;
      while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written);
    },
    close: () => {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
    },
  };
}
