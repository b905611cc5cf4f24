/**
 * `/view` of `ustack up --serve http` shows the latest frames of the live capture, numbered as
 * in the whole file, and says how many earlier ones it leaves out: a capture that grows (up's
 * tap appending records, the last one half written) moves the window forward, reading only what
 * was appended; a file replaced by a shorter one is walked again. The page, in headless
 * Chromium, states the count and starts on the window's first frame.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/pcap.js';
import { viewModelOfFile } from '../../src/view/view-command.js';
import type { ViewModel } from '../../src/view/view-model.js';
import { LiveCaptureIndex, liveViewHtml } from '../../src/view/serve-view.js';
import { browserAvailable, launchBrowser } from './browser.js';

declare const document: any;
declare const window: any;

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const FIXTURE = join(ROOT, 'captures/fixtures/eth.pcap'); // 325 frames
const scratch = mkdtempSync(join(tmpdir(), 'ustack-live-window-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The model a page carries in its JSON block. */
function modelOf(html: string): ViewModel {
  const json = /<script type="application\/json" id="model">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (json === undefined) throw new Error('no model in the page');
  return JSON.parse(json) as ViewModel;
}

const bytes = readFileSync(FIXTURE);
const parsed = readCapture(new Uint8Array(bytes));
if (!parsed.ok) throw new Error(parsed.error.message);
/** Where each record of the fixture ends in the file. */
const ends: number[] = [];
{
  let at = 24;
  for (const record of parsed.value.records) {
    at += 16 + record.data.length;
    ends.push(at);
  }
}

describe('the live view shows the latest frames', () => {
  it('a growing capture: the latest N frames, numbered and timed as in the whole file, the earlier ones counted', async () => {
    const whole = await viewModelOfFile(FIXTURE);
    const path = join(scratch, 'up.pcap');
    const index = new LiveCaptureIndex();
    const check = async (complete: number, window: number) => {
      const page = modelOf(await liveViewHtml(path, { maxFrames: window, index, now: new Date(0) }));
      const first = complete - window;
      expect(page.earlierFrames).toBe(first);
      expect(page.frames.map((f) => f.number)).toEqual(whole.frames.slice(first, complete).map((f) => f.number));
      expect(page.frames.map((f) => f.hex)).toEqual(whole.frames.slice(first, complete).map((f) => f.hex));
      expect(page.frames.map((f) => f.time)).toEqual(whole.frames.slice(first, complete).map((f) => f.time));
      expect(page.frames.map((f) => f.dissection)).toEqual(whole.frames.slice(first, complete).map((f) => f.dissection));
      expect(page.live).toBe(
        `live capture up.pcap as of 1970-01-01T00:00:00.000Z: its latest ${window} frames; the ${first} before them are not shown (reload for newer frames)`,
      );
      return page;
    };
    // 200 complete records and half of the 201st (up's tap mid-write).
    writeFileSync(path, bytes.subarray(0, ends[199] + 30));
    await check(200, 50);
    // The tap writes on: the rest of the 201st and 99 more, the 301st half written.
    appendFileSync(path, bytes.subarray(ends[199] + 30, ends[299] + 7));
    await check(300, 50);
    // The rest: the window ends at the last frame, with the transfer's FINs in it.
    appendFileSync(path, bytes.subarray(ends[299] + 7));
    const last = await check(325, 50);
    expect(last.connections.length).toBeGreaterThan(0);
    // Another recording at the path, shorter: walked again from the start.
    writeFileSync(path, bytes.subarray(0, ends[39]));
    await check(40, 10);
  });

  it('a capture shorter than the window: every frame, none counted as earlier', async () => {
    const path = join(scratch, 'short.pcap');
    writeFileSync(path, bytes.subarray(0, ends[9]));
    const page = modelOf(await liveViewHtml(path, { index: new LiveCaptureIndex(), now: new Date(0) }));
    expect(page.earlierFrames).toBe(0);
    expect(page.frames.map((f) => f.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(page.live).toBe('live capture short.pcap as of 1970-01-01T00:00:00.000Z: all 10 frames (reload for newer frames)');
  });

  it('in headless Chromium: the page states how many earlier frames it leaves out and starts on the first one it shows', async () => {
    if (!browserAvailable('the live view in headless Chromium')) return;
    const path = join(scratch, 'browser.pcap');
    writeFileSync(path, bytes);
    const html = join(scratch, 'live.html');
    writeFileSync(html, await liveViewHtml(path, { maxFrames: 25, index: new LiveCaptureIndex(), now: new Date(0) }));
    const { context, close } = await launchBrowser();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(pathToFileURL(html).href + '#frame=3'); // frame 3 is not in the window
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      expect(errors).toEqual([]);
      const summary = await page.evaluate(() => document.getElementById('summary').textContent as string);
      expect(summary).toMatch(/^the latest 25 frames \(300 earlier frames not shown\)/);
      const rows = await page.evaluate(() => [...document.querySelectorAll('#frame-list tbody tr')].map((row: any) => Number(row.getAttribute('data-frame'))));
      expect(rows).toEqual(Array.from({ length: 25 }, (_, i) => 301 + i));
      expect(await page.evaluate(() => window.ustackView.current().number as number)).toBe(301);
      await page.evaluate(() => window.ustackView.selectFrame(325));
      expect(await page.evaluate(() => document.getElementById('frame-detail').getAttribute('data-frame') as string)).toBe('325');
    } finally {
      await close();
    }
  }, 120_000);
});
