/**
 * `ustack view`'s page in a real browser (headless Chromium): for a kernel fixture (eth.pcap —
 * Linux on both ends, ARP, pings, fragments, a 256 KiB transfer losing every 15th segment) and
 * for the demo's capture, the layer boxes and their byte ranges are the dissector's, every
 * field chip covers the dissector's bytes, pointing at a field lights exactly its bytes and
 * pointing at a byte lights its field, checksums show what they cover, the retransmissions are
 * in the ladder and in the time–sequence graph (and agree with tshark's TCP analysis), the
 * fragments make their datagrams, and no request leaves the page. Screenshots go to
 * captures/view/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../examples/demo.js';
import { captureRecords, malformedEthernetCases, mutatedCases, sll2Cases } from '../dissect/edge-cases.js';
import type { Dissection } from '../../src/dissect/dissect.js';
import { renderViewHtml } from '../../src/view/render-html.js';
import { viewModelOfFile } from '../../src/view/view-command.js';
import { buildViewModel, type ViewModel } from '../../src/view/view-model.js';
import { browserAvailable, launchBrowser } from './browser.js';

/**
 * The page's globals, as the functions given to page.evaluate() see them in the browser. The
 * project compiles without the DOM library, so they are declared here, for this file only.
 */
declare const document: any;
declare const window: any;

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const FIXTURE = join(ROOT, 'captures/fixtures/eth.pcap');
const SCREENSHOTS = join(ROOT, 'captures/view');
const available = browserAvailable('ustack view in headless Chromium');
const hasTshark = spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;

interface DrawnBox {
  layer: string;
  start: number;
  end: number;
  payloadStart: number;
  payloadEnd: number;
  offsets: number[];
  texts: string[];
  fields: Array<{ name: string | null; start: number; end: number }>;
}

/** What the dissector says the boxes of a frame should be, in document (tree) order. */
function expectedBoxes(dissection: Dissection) {
  return dissection.layers
    .filter((layer) => layer.layer !== 'frame' && layer.layer !== 'malformed')
    .map((layer) => ({
      layer: layer.layer,
      start: layer.start,
      end: layer.end,
      payloadStart: layer.payloadStart,
      payloadEnd: layer.payloadEnd,
      fields: layer.fields.filter((f) => f.start !== undefined).map((f) => ({ name: f.name ?? null, start: f.start!, end: f.end! })),
    }));
}

/** Selects each of `frames` in turn and reads back the boxes the page drew (one round trip in all). */
async function drawnBoxes(page: Page, frames: readonly number[]): Promise<DrawnBox[][]> {
  return page.evaluate(
    (numbers: number[]) =>
      numbers.map((frame) => {
        window.ustackView.selectFrame(frame);
        return [...document.querySelectorAll('#layers .layer-box')].map((box) => {
          const own = (selector: string) => [...box.querySelectorAll(selector)].filter((node) => node.closest('.layer-box') === box);
          const cells = [...box.querySelectorAll('.byte')];
          return {
            layer: box.getAttribute('data-layer'),
            start: Number(box.getAttribute('data-start')),
            end: Number(box.getAttribute('data-end')),
            payloadStart: Number(box.getAttribute('data-payload-start')),
            payloadEnd: Number(box.getAttribute('data-payload-end')),
            offsets: cells.map((cell) => Number(cell.getAttribute('data-offset'))),
            texts: cells.map((cell) => cell.textContent ?? ''),
            fields: own('.field[data-start]').map((chip) => ({
              name: chip.getAttribute('data-name'),
              start: Number(chip.getAttribute('data-start')),
              end: Number(chip.getAttribute('data-end')),
            })),
          };
        });
      }),
    [...frames],
  );
}

/** Offsets of the highlighted byte cells (layer boxes and hex dump alike). */
async function highlighted(page: Page): Promise<number[]> {
  return page.evaluate(() => [...document.querySelectorAll('#frame-detail .byte.hl')].map((cell) => Number(cell.getAttribute('data-offset'))));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** Checks every frame of `model` (or those in `only`): boxes, ranges, bytes and field chips. */
async function checkBoxes(page: Page, model: ViewModel, only?: readonly number[]): Promise<number> {
  let boxes = 0;
  const frames = model.frames.filter((frame) => only === undefined || only.includes(frame.number));
  const allDrawn = await drawnBoxes(
    page,
    frames.map((frame) => frame.number),
  );
  for (const [index, frame] of frames.entries()) {
    const drawn = allDrawn[index];
    const expected = expectedBoxes(frame.dissection);
    expect(
      drawn.map(({ layer, start, end, payloadStart, payloadEnd, fields }) => ({ layer, start, end, payloadStart, payloadEnd, fields })),
      `frame ${frame.number}`,
    ).toEqual(expected);
    for (const box of drawn) {
      // A box holds its header's bytes and, nested, its payload's: exactly its range, in order.
      const extent = Math.min(Math.max(box.end, box.payloadEnd), frame.hex.length / 2);
      expect(box.offsets, `frame ${frame.number} ${box.layer} bytes`).toEqual(range(box.start, extent));
      expect(box.texts.join(''), `frame ${frame.number} ${box.layer} hex`).toBe(frame.hex.slice(box.start * 2, extent * 2));
      boxes++;
    }
  }
  return boxes;
}

describe.skipIf(!available)('ustack view in headless Chromium', () => {
  let context: BrowserContext;
  let close: () => Promise<void>;
  let scratch: string;
  let fixtureModel: ViewModel;
  let fixturePage: string;
  let demoModel: ViewModel;
  let demoPage: string;
  let cookedModel: ViewModel;
  let cookedPage: string;
  let hostileModel: ViewModel;
  let hostilePage: string;
  /** Every request any page made, its own document excepted. */
  const requests: string[] = [];
  /** Every page opened, to ask for its CSP violations at the end. */
  const pages: Page[] = [];
  const violations: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ustack-view-'));
    mkdirSync(SCREENSHOTS, { recursive: true });
    fixtureModel = await viewModelOfFile(FIXTURE);
    fixturePage = join(SCREENSHOTS, 'eth.html');
    writeFileSync(fixturePage, renderViewHtml(fixtureModel));
    const demoCapture = join(scratch, 'demo.pcap');
    await runDemo({ capturePath: demoCapture, print: () => {} });
    demoModel = await viewModelOfFile(demoCapture);
    demoPage = join(SCREENSHOTS, 'demo.html');
    writeFileSync(demoPage, renderViewHtml(demoModel));
    // tcpdump -i any's Linux cooked capture v2, recorded from the kernel.
    cookedModel = await viewModelOfFile(join(ROOT, 'captures/fixtures/sll2.pcap'));
    cookedPage = join(SCREENSHOTS, 'sll2.html');
    writeFileSync(cookedPage, renderViewHtml(cookedModel));
    // Hostile frames: the dissector's malformed-frame cases and kernel frames with bytes changed or cut.
    const hostile = [
      ...malformedEthernetCases().filter((_, i) => i % 2 === 0),
      ...sll2Cases().filter((_, i) => i % 4 === 0),
      ...mutatedCases(captureRecords(FIXTURE), 14, 150, { cut: true }),
    ].map((c, index) => ({
      index,
      linkType: c.linkType,
      interfaceIndex: 0,
      capturedLength: c.frame.length,
      originalLength: c.originalLength,
      data: c.frame,
      seconds: index,
      nanoseconds: 0,
    }));
    hostileModel = buildViewModel(hostile, { title: 'hostile' });
    hostilePage = join(SCREENSHOTS, 'hostile.html');
    writeFileSync(hostilePage, renderViewHtml(hostileModel));
    ({ context, close } = await launchBrowser());
    const own = new Set([fixturePage, demoPage, cookedPage, hostilePage].map((path) => pathToFileURL(path).href));
    context.on('request', (request) => {
      const url = request.url();
      if (!own.has(url.replace(/#.*$/, ''))) requests.push(url);
    });
  }, 120_000);

  afterAll(async () => {
    await close?.();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function open(path: string, frame?: number): Promise<Page> {
    const page = await context.newPage();
    // A request the page's CSP blocked never becomes a request: count the violations too.
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event: { blockedURI: string }) => window.cspViolations.push(event.blockedURI));
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(pathToFileURL(path).href + (frame === undefined ? '' : `#frame=${frame}`));
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(errors).toEqual([]);
    pages.push(page);
    return page;
  }

  it("the kernel fixture: every frame kind drawn as the dissector's layers, with its bytes and field ranges", async () => {
    const page = await open(fixturePage);
    // One frame of each layer signature (ARP, ICMP echo, fragments, UDP, ICMP errors, TCP with SACK…).
    const seen = new Set<string>();
    const sample: number[] = [];
    for (const frame of fixtureModel.frames) {
      const signature = frame.dissection.layers.map((l) => `${l.layer}${l.depth}`).join('/') + (frame.info.includes('SLE') ? '+sack' : '');
      if (!seen.has(signature)) {
        seen.add(signature);
        sample.push(frame.number);
      }
    }
    expect(sample.length).toBeGreaterThanOrEqual(8);
    const boxes = await checkBoxes(page, fixtureModel, sample);
    expect(boxes).toBeGreaterThan(25);
    // The list shows every frame.
    expect(await page.locator('#frame-list tbody tr').count()).toBe(fixtureModel.frames.length);
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 120_000);

  it('pointing at a field lights exactly its bytes; pointing at a byte lights its field', async () => {
    const tcpFrame = fixtureModel.frames.find((f) => f.info.includes('SLE'))!;
    const page = await open(fixturePage, tcpFrame.number);
    const tcp = tcpFrame.dissection.layers.find((l) => l.layer === 'tcp')!;
    const ip = tcpFrame.dissection.layers.find((l) => l.layer === 'ip')!;
    for (const name of ['tcp.srcport', 'tcp.seq_raw', 'tcp.options.sack_le', 'tcp.window_size_value']) {
      const field = tcp.fields.find((f) => f.name === name)!;
      await page.hover(`#layers .field[data-name="${name}"]`);
      const lit = await highlighted(page);
      // Each byte is lit twice: in its layer box and in the hex dump.
      expect(
        [...new Set(lit)].sort((x, y) => x - y),
        name,
      ).toEqual(range(field.start!, field.end!));
      expect(lit.length, name).toBe(2 * (field.end! - field.start!));
      // And they look lit: the highlight's yellow, in the hex dump too (over the layer's colour).
      const colours = await page.evaluate(
        (offset: number) =>
          [...document.querySelectorAll(`#frame-detail .byte[data-offset="${offset}"]`)].map(
            (cell: unknown) => (window.getComputedStyle(cell) as { backgroundColor: string }).backgroundColor,
          ),
        field.start!,
      );
      expect(colours, name).toEqual(['rgb(255, 212, 0)', 'rgb(255, 212, 0)']);
    }
    const ttl = ip.fields.find((f) => f.name === 'ip.ttl')!;
    await page.hover(`#hexdump .byte[data-offset="${ttl.start}"]`);
    const chips = await page.evaluate(() => [...document.querySelectorAll('#layers .field.hl-field')].map((chip) => chip.getAttribute('data-name')));
    expect(chips).toEqual(['ip.ttl']);
    expect([...new Set(await highlighted(page))]).toEqual([ttl.start]);
    // A byte two fields share (IPv4's first: version and header length) lights both.
    await page.hover(`#hexdump .byte[data-offset="${ip.start}"]`);
    const shared = await page.evaluate(() => [...document.querySelectorAll('#layers .field.hl-field')].map((chip) => chip.getAttribute('data-name')));
    expect(shared).toEqual(['ip.version', 'ip.hdr_len']);
    await page.screenshot({ path: join(SCREENSHOTS, 'eth-frame-hover.png') });
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 60_000);

  it('checksums: the bytes and pseudo-header they cover, and whether they verify', async () => {
    const tcpFrame = fixtureModel.frames.find((f) => f.protocol === 'TCP' && f.info.includes('Len=1448'))!;
    const page = await open(fixturePage, tcpFrame.number);
    const ip = tcpFrame.dissection.layers.find((l) => l.layer === 'ip')!;
    const checksum = tcpFrame.dissection.layers.find((l) => l.layer === 'tcp')!.fields.find((f) => f.name === 'tcp.checksum')!;
    const drawn = await page.evaluate(() =>
      [...document.querySelectorAll('#checksums .checksum')].map((item) => ({
        name: item.getAttribute('data-name'),
        verdict: item.getAttribute('data-verdict'),
        start: Number(item.getAttribute('data-start')),
        end: Number(item.getAttribute('data-end')),
        pseudo: [...item.querySelectorAll('.pseudo-header tr:nth-child(2) td')].map((cell) => cell.textContent),
      })),
    );
    expect(drawn.map((d) => d.name)).toEqual(['ip.checksum', 'tcp.checksum']);
    // The kernel checksummed every frame of this capture: both verify.
    expect(drawn.map((d) => d.verdict)).toEqual(['good', 'good']);
    expect(drawn[0]).toMatchObject({ start: ip.start, end: ip.payloadStart, pseudo: [] });
    const value = (name: string) => ip.fields.find((f) => f.name === name)!.value;
    const segmentLength = Number(value('ip.len')) - (ip.payloadStart - ip.start);
    expect(drawn[1]).toMatchObject({
      start: checksum.checksum!.start,
      end: checksum.checksum!.end,
      pseudo: [value('ip.src'), value('ip.dst'), '0', '6', String(segmentLength)],
    });
    expect(drawn[1].end - drawn[1].start).toBe(segmentLength);
    await page.hover('#checksums .checksum[data-name="tcp.checksum"]');
    const covered = await page.evaluate(() =>
      [...document.querySelectorAll('#frame-detail .byte.covered')].map((cell) => Number(cell.getAttribute('data-offset'))),
    );
    expect([...new Set(covered)].sort((x, y) => x - y)).toEqual(range(drawn[1].start, drawn[1].end));
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 60_000);

  it('the lossy transfer: its retransmissions are marked in the ladder and the time–sequence graph, as tshark finds them', async () => {
    const page = await open(fixturePage);
    const transfer = fixtureModel.connections.reduce((x, y) => (y.segments.length > x.segments.length ? y : x));
    const ours = transfer.segments.filter((s) => s.retransmission).map((s) => s.frame);
    expect(ours.length).toBeGreaterThanOrEqual(12);
    const ladder = await page.evaluate(() => ({
      connection: document.querySelector('#ladder svg')?.getAttribute('data-connection'),
      all: document.querySelectorAll('#ladder .ladder-segment').length,
      retransmissions: [...document.querySelectorAll('#ladder .ladder-segment.retransmission')].map((g) => Number(g.getAttribute('data-frame'))),
      kinds: [...new Set([...document.querySelectorAll('#ladder .ladder-segment')].map((g) => g.getAttribute('class')!.split(' ')[1]))],
      sacks: document.querySelectorAll('#ladder .ladder-segment.has-sack').length,
    }));
    expect(ladder.connection).toBe(String(transfer.id));
    expect(ladder.all).toBe(transfer.segments.length);
    expect(ladder.retransmissions).toEqual(ours);
    expect(ladder.kinds).toEqual(expect.arrayContaining(['kind-syn', 'kind-ack', 'kind-data', 'kind-fin']));
    expect(ladder.sacks).toBe(transfer.segments.filter((s) => s.sack.length > 0).length);
    const graph = await page.evaluate(() => ({
      direction: Number(document.querySelector('#tsg svg')?.getAttribute('data-direction')),
      retransmissions: [...document.querySelectorAll('#tsg .ts-segment.retransmission')].map((g) => Number(g.getAttribute('data-frame'))),
      marks: document.querySelectorAll('#tsg .ts-segment.retransmission .ts-r').length,
      segments: document.querySelectorAll('#tsg .ts-segment').length,
      sacks: document.querySelectorAll('#tsg .ts-sack').length,
      ack: document.querySelector('#tsg .ts-ack')?.getAttribute('d')?.length ?? 0,
      window: document.querySelector('#tsg .ts-window')?.getAttribute('d')?.length ?? 0,
    }));
    // The data flows a → b; the graph shows that direction, every data segment and every SACK block the receiver sent.
    expect(graph.direction).toBe(0);
    expect(graph.retransmissions).toEqual(ours);
    expect(graph.marks).toBe(ours.length);
    expect(graph.segments).toBe(
      transfer.segments.filter((s) => s.direction === 0 && (s.length > 0 || s.flags.includes('SYN') || s.flags.includes('FIN'))).length,
    );
    expect(graph.sacks).toBe(transfer.segments.filter((s) => s.direction === 1).reduce((n, s) => n + s.sack.length, 0));
    expect(graph.sacks).toBeGreaterThan(0);
    expect(graph.ack).toBeGreaterThan(100);
    expect(graph.window).toBeGreaterThan(100);
    await page.locator('#tsg').screenshot({ path: join(SCREENSHOTS, 'eth-time-sequence.png') });
    // Dragging across the first retransmission zooms into it; a double-click shows all again.
    const first = ours[0];
    const at = await page.evaluate((frame: number) => {
      const line = document.querySelector(`#tsg .ts-segment[data-frame="${frame}"] line`);
      const box = document.querySelector('#tsg svg').getBoundingClientRect();
      return { x: box.left + Number(line.getAttribute('x1')), y: box.top + 200 };
    }, first);
    await page.mouse.move(at.x - 25, at.y);
    await page.mouse.down();
    await page.mouse.move(at.x + 25, at.y, { steps: 4 });
    await page.mouse.up();
    const zoomed = await page.evaluate(() => ({
      zoom: document.querySelector('#tsg svg').getAttribute('data-zoom'),
      segments: document.querySelectorAll('#tsg .ts-segment').length,
      retransmissions: [...document.querySelectorAll('#tsg .ts-segment.retransmission')].map((g: { getAttribute(n: string): string }) =>
        Number(g.getAttribute('data-frame')),
      ),
    }));
    expect(zoomed.zoom).not.toBeNull();
    expect(zoomed.segments).toBeGreaterThan(0);
    expect(zoomed.segments).toBeLessThan(graph.segments);
    expect(zoomed.retransmissions).toContain(first);
    await page.locator('#tsg').screenshot({ path: join(SCREENSHOTS, 'eth-time-sequence-zoomed.png') });
    await page.dblclick('#tsg svg', { position: { x: 450, y: 240 } });
    expect(await page.evaluate(() => document.querySelectorAll('#tsg .ts-segment').length)).toBe(graph.segments);
    await page.locator('#ladder').screenshot({ path: join(SCREENSHOTS, 'eth-ladder.png') });
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();

    if (!hasTshark) {
      if (process.env.CI === 'true') throw new Error('tshark is required under CI=true');
      console.warn("\n*** SKIPPED (no tshark): the retransmissions compared with tshark's TCP analysis ***\n");
      return;
    }
    // tshark's TCP analysis: every segment it calls a retransmission is one of ours. Wireshark
    // calls a resend that comes within its out-of-order window "out of order" instead; ours
    // (tcptrace's rule, sequence space already sent) counts those too, so each extra one must be
    // a segment tshark marks out of order whose bytes the capture shows sent before.
    const fields = ['frame.number', 'tcp.seq_raw', 'tcp.len', 'tcp.analysis.retransmission', 'tcp.analysis.fast_retransmission', 'tcp.analysis.out_of_order'];
    const run = spawnSync('tshark', ['-r', FIXTURE, '-Y', 'tcp', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    // (Not trim(): the last line's empty columns are tabs too.)
    const rows = run.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('\t'));
    const theirs = rows.filter((r) => r[3] !== '' || r[4] !== '').map((r) => Number(r[0]));
    const outOfOrder = new Set(rows.filter((r) => r[5] !== '').map((r) => Number(r[0])));
    expect(theirs.length).toBeGreaterThan(0);
    expect(ours).toEqual(expect.arrayContaining(theirs));
    for (const extra of ours.filter((n) => !theirs.includes(n))) {
      expect(outOfOrder.has(extra), `frame ${extra}`).toBe(true);
      const row = rows.find((r) => Number(r[0]) === extra)!;
      const earlier = rows.find((r) => Number(r[0]) < extra && r[1] === row[1] && r[2] === row[2]);
      expect(earlier, `frame ${extra}: the same bytes sent before`).toBeDefined();
    }
  }, 60_000);

  it('the SYN to a closed port: the other connection, chosen in the picker, ends in a RST in its ladder', async () => {
    const page = await open(fixturePage);
    const refused = fixtureModel.connections.find((c) => c.segments.some((s) => s.flags.includes('RST')))!;
    expect(refused).toBeDefined();
    await page.selectOption('#connection-picker', String(refused.id));
    const ladder = await page.evaluate(() =>
      [...document.querySelectorAll('#ladder .ladder-segment')].map((g: { getAttribute(n: string): string }) => g.getAttribute('class')!.split(' ')[1]),
    );
    expect(ladder).toEqual(refused.segments.map((s) => (s.flags.includes('RST') ? 'kind-rst' : s.flags.includes('SYN') ? 'kind-syn' : 'other')));
    expect(ladder.at(-1)).toBe('kind-rst');
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 60_000);

  it('fragments: each datagram drawn as the pieces the dissector found, making the whole', async () => {
    const page = await open(fixturePage);
    const drawn = await page.evaluate(() =>
      [...document.querySelectorAll('#fragments svg.datagram')].map((picture) => ({
        total: Number(picture.getAttribute('data-total')),
        complete: picture.getAttribute('data-complete'),
        pieces: [...picture.querySelectorAll('.fragment-piece')].map((g) => ({
          frame: Number(g.getAttribute('data-frame')),
          offset: Number(g.getAttribute('data-offset')),
          length: Number(g.getAttribute('data-length')),
        })),
      })),
    );
    expect(drawn.length).toBe(6);
    for (const datagram of drawn) {
      expect(datagram.complete).toBe('true');
      let covered = 0;
      for (const piece of datagram.pieces) {
        // Straight from the frame's IPv4 header as the dissector read it.
        const ip = fixtureModel.frames[piece.frame - 1].dissection.layers.find((l) => l.layer === 'ip')!;
        const value = (name: string) => Number(ip.fields.find((f) => f.name === name)!.value);
        expect(piece.offset).toBe(value('ip.frag_offset') * 8);
        expect(piece.length).toBe(value('ip.len') - value('ip.hdr_len'));
        expect(piece.offset).toBe(covered);
        covered += piece.length;
      }
      expect(covered).toBe(datagram.total);
    }
    await page.locator('#fragments').screenshot({ path: join(SCREENSHOTS, 'eth-fragments.png') });
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 60_000);

  it("a Linux cooked capture v2 (tcpdump -i any): every frame drawn as the dissector's layers, the cooked header first", async () => {
    const page = await open(cookedPage);
    const boxes = await checkBoxes(page, cookedModel);
    expect(boxes).toBeGreaterThan(cookedModel.frames.length * 2);
    expect(cookedModel.frames.every((f) => f.dissection.layers[1].layer === 'sll')).toBe(true);
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 120_000);

  it('hostile frames (malformed, mutated, cut short): each drawn as the dissector read it, without a page error', async () => {
    const page = await open(hostilePage);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    const boxes = await checkBoxes(page, hostileModel);
    expect(boxes).toBeGreaterThan(hostileModel.frames.length);
    expect(errors).toEqual([]);
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 120_000);

  it("the demo: every frame (ARP, Ethernet, IPv4, ICMP, UDP, TCP) drawn as the dissector's layers", async () => {
    const page = await open(demoPage);
    const boxes = await checkBoxes(page, demoModel);
    expect(boxes).toBeGreaterThan(demoModel.frames.length * 2);
    const kinds = new Set(demoModel.frames.flatMap((f) => f.dissection.layers.map((l) => l.layer)));
    expect([...kinds]).toEqual(expect.arrayContaining(['eth', 'arp', 'ip', 'udp', 'tcp', 'data']));
    await page.evaluate(() => window.ustackView.selectFrame(3));
    await page.screenshot({ path: join(SCREENSHOTS, 'demo.png') });
    violations.push(...(await page.evaluate(() => window.cspViolations as string[])));
    await page.close();
  }, 120_000);

  it('no request leaves the page, and the page names no address to fetch', () => {
    expect(requests).toEqual([]);
    expect(pages.length).toBeGreaterThanOrEqual(7);
    expect(violations).toEqual([]);
    for (const path of [fixturePage, demoPage, cookedPage]) {
      const html = readFileSync(path, 'utf8');
      expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
      // The only URL in the page is SVG's namespace name, which is never fetched.
      const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*/gi)].map((m) => m[0]).filter((u) => u !== 'http://www.w3.org/2000/svg');
      expect(urls).toEqual([]);
      // No stylesheet, import, image, frame or script is loaded from anywhere (url(#…) names a marker in the page).
      expect(/<link|@import|url\((?!#)|<img|<iframe|\ssrc=/i.exec(html)?.[0] ?? null, path).toBeNull();
    }
  });
});
