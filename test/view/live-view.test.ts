/**
 * `ustack up --serve http`'s `GET /view`: the capture up records (`--pcap FILE`) drawn as
 * `ustack view` draws it, read again at each request — here over the virtual network, the
 * server's capture written to a file as up's tap writes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../examples/services.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { viewModelOfFile } from '../../src/view/view-command.js';
import type { ViewModel } from '../../src/view/view-model.js';

const scratch = mkdtempSync(join(tmpdir(), 'ustack-live-view-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The model a page carries in its JSON block. */
function modelOf(html: string): ViewModel {
  const json = /<script type="application\/json" id="model">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (json === undefined) throw new Error('no model in the page');
  return JSON.parse(json) as ViewModel;
}

describe('GET /view', () => {
  it('serves the recorded capture as ustack view draws it, and a reload shows the frames since', async () => {
    const network = new VirtualNetwork(9);
    const client = network.createStack('client');
    const server = network.createStack('server');
    const wire = network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24', capture: true }, { latencyMs: 1 });
    const capturePath = join(scratch, 'up.pcap');
    const get = (path: string) =>
      network.runAsync(
        async () => {
          // write, not end: Node's http server ends a connection whose client half-closes before an
          // answer that takes a turn of the event loop (as /view's file read does); curl never half-closes.
          const socket = client.net.connect(80, '10.0.0.2', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 10.0.0.2\r\nConnection: close\r\n\r\n`));
          let text = '';
          for await (const chunk of socket) text += chunk;
          return text;
          // While /view reads the file (real I/O) virtual time runs on through the last connection's TIME-WAIT.
        },
        { limitMs: 600_000 },
      );
    const stop = startHttpServer(server, 80, () => {}, capturePath);
    try {
      await get('/');
      // What up's tap has written to --pcap FILE by now.
      writeFileSync(capturePath, wire.b.tap!.writer.toBytes());
      const first = await get('/view');
      expect(first).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(first).toMatch(/content-type: text\/html/i);
      expect(first).toMatch(/content-security-policy: default-src 'none'/i);
      const page = modelOf(first);
      const file = await viewModelOfFile(capturePath);
      expect(page.frames.map((f) => f.hex)).toEqual(file.frames.map((f) => f.hex));
      expect(page.frames.map((f) => f.dissection)).toEqual(file.frames.map((f) => f.dissection));
      expect(page.live).toMatch(/^live capture up\.pcap as of /);
      // The first request's connection: SYN to port 80, the request, FINs.
      expect(page.connections).toHaveLength(1);
      expect(page.connections[0].b).toEqual({ address: '10.0.0.2', port: 80 });
      // (ustack asks for ECN on its SYNs: SYN, ECE, CWR.)
      expect(page.connections[0].segments[0].flags).toEqual(['SYN', 'ECE', 'CWR']);

      writeFileSync(capturePath, wire.b.tap!.writer.toBytes());
      const second = modelOf(await get('/view'));
      // The /view request itself is in it now.
      expect(second.connections).toHaveLength(2);
      expect(second.frames.length).toBeGreaterThan(page.frames.length);
    } finally {
      stop();
    }
  });

  it('says how to get a capture when up records none', async () => {
    const network = new VirtualNetwork(10);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' });
    const stop = startHttpServer(server, 80);
    const response = await network.runAsync(async () => {
      const socket = client.net.connect(80, '10.0.0.2', () => socket.write('GET /view HTTP/1.1\r\nHost: 10.0.0.2\r\nConnection: close\r\n\r\n'));
      let text = '';
      for await (const chunk of socket) text += chunk;
      return text;
    });
    stop();
    expect(response).toMatch(/^HTTP\/1\.1 404/);
    expect(response).toContain('start ustack up with --pcap FILE');
  });
});
