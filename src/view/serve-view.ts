/**
 * `GET /view` of `ustack up --serve http`: the page `ustack view` makes, of the capture `up`
 * is recording (`--pcap FILE`) as it stands at the request. Each request reads the file again,
 * so a reload shows the frames since. The file is read up to its first LIVE_VIEW_MAX_BYTES and
 * up to LIVE_VIEW_MAX_FRAMES frames (a long `up` writes gigabytes; the page of those would be
 * far larger than any browser wants); a record still being written is left out, as
 * `ustack dissect` leaves out a record cut short.
 */
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { readCaptureUpToCut } from '../pcap/capture-cut.js';
import { renderViewHtml } from './render-html.js';
import { buildViewModel } from './view-model.js';

/** The most bytes of the capture file a live view reads. */
export const LIVE_VIEW_MAX_BYTES = 32 * 1024 * 1024;
/** The most frames a live view shows. */
export const LIVE_VIEW_MAX_FRAMES = 2000;

/** The page for the capture at `capturePath` as it is now; throws when the file cannot be read. */
export async function liveViewHtml(capturePath: string, now = new Date()): Promise<string> {
  const file = await open(capturePath, 'r');
  let bytes: Uint8Array;
  let size: number;
  try {
    size = (await file.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, LIVE_VIEW_MAX_BYTES));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
  } finally {
    await file.close();
  }
  const capture = readCaptureUpToCut(bytes);
  if (!capture.ok) throw new Error(`${capturePath}: not a readable capture: ${capture.error.message}`);
  const note = `live capture ${basename(capturePath)} as of ${now.toISOString()} (reload for newer frames${size > LIVE_VIEW_MAX_BYTES ? `; the first ${LIVE_VIEW_MAX_BYTES / 1024 / 1024} MiB of ${size} bytes` : ''})`;
  return renderViewHtml(buildViewModel(capture.value.records, { title: basename(capturePath), maxFrames: LIVE_VIEW_MAX_FRAMES, live: note }));
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
