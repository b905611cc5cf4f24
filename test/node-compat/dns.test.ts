/**
 * ustack's `dns` (src/socket-api/dns.ts) judged by Node's own resolver, c-ares: each scenario
 * runs a DNS server on a `dgram` socket (and a `net` server for TCP) and resolves through it with
 * Node's own `dns.Resolver` over 127.0.0.1, then with ustack's over one stack's loopback (real
 * time) and between two stacks on the virtual network (virtual time); the results, errors and
 * what the server saw must be the same. The server reads the queries with ustack's codec, so
 * c-ares's own queries test the decoder, and c-ares reading the server's answers tests the
 * encoder. Then the codec alone against hostile bytes.
 */
import { spawnSync } from 'node:child_process';
import * as nodeDns from 'node:dns';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  aRecordData,
  decodeDnsMessage,
  DnsRcode,
  DnsType,
  encodeDnsMessage,
  encodeDnsQuery,
  nameRecordData,
  readDnsName,
  type DnsMessage,
  type DnsRecordInput,
} from '../../src/dns/message.js';
import { Rng } from '../../src/core/rng.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { tsharkVersion } from '../fixtures/tshark-fields.js';
import { loopbackEnvironment, nodeEnvironment, virtualEnvironment, type Environment } from '../socket-api/node-harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface DnsEnvironment extends Environment {
  /** The client side's `dns` module: Node's own, or the client stack's. */
  readonly dns: any;
}

const environments: DnsEnvironment[] = [];
afterEach(() => {
  for (const env of environments.splice(0)) {
    env.dispose();
    for (const stack of env.stacks) expect(stack.lastInternalError).toBe(null);
  }
});

function withDns(kind: 'node' | 'loopback' | 'virtual'): DnsEnvironment {
  if (kind === 'node') return { ...nodeEnvironment(), dns: nodeDns };
  if (kind === 'loopback') {
    const env = loopbackEnvironment(21);
    return { ...env, dns: env.stacks[0].dns };
  }
  const env = virtualEnvironment(21);
  return { ...env, dns: env.client.dns };
}

/** The scenario in the three environments: Node's result first, then ustack's two. */
async function everywhere<T>(scenario: (env: DnsEnvironment) => Promise<T>): Promise<{ node: T; loopback: T; virtual: T }> {
  const results: Record<string, T> = {};
  for (const kind of ['node', 'loopback', 'virtual'] as const) {
    const env = withDns(kind);
    environments.push(env);
    results[kind] = await env.run(() => scenario(env));
  }
  return results as { node: T; loopback: T; virtual: T };
}

/** The scenario on ustack alone (loopback and virtual network). */
async function everywhereUstack<T>(scenario: (env: DnsEnvironment) => Promise<T>): Promise<{ loopback: T; virtual: T }> {
  const results: Record<string, T> = {};
  for (const kind of ['loopback', 'virtual'] as const) {
    const env = withDns(kind);
    environments.push(env);
    results[kind] = await env.run(() => scenario(env));
  }
  return results as { loopback: T; virtual: T };
}

function ustackOnly<T>(results: { loopback: T; virtual: T }): T {
  expect(results.virtual).toEqual(results.loopback);
  return results.loopback;
}

function expectSame<T>(results: { node: T; loopback: T; virtual: T }): T {
  expect(results.loopback).toEqual(results.node);
  expect(results.virtual).toEqual(results.node);
  return results.node;
}

/** What a server answers one query with: messages to send back, in order (none: silence). */
type Respond = (query: DnsMessage, count: number) => Uint8Array[];

/** A DNS server on the server side's dgram; `queries` is what it received, decoded. */
async function dnsServer(env: DnsEnvironment, respond: Respond): Promise<{ address: string; port: number; queries: string[]; close: () => void }> {
  const socket = env.serverDgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (bytes: Buffer, rinfo: { address: string; port: number }) => {
    const decoded = decodeDnsMessage(bytes);
    if (!decoded.ok) {
      queries.push(`undecodable: ${decoded.error.message}`);
      return;
    }
    const query = decoded.value;
    const question = query.questions[0];
    queries.push(`${question.name} type ${question.type} class ${question.class} rd=${query.recursionDesired} qr=${query.response}`);
    for (const reply of respond(query, queries.length)) socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, env.serverHost, resolve));
  return { address: env.serverHost, port: socket.address().port, queries, close: () => socket.close() };
}

/** A reply to `query` with these answers (and rcode, flags). */
function reply(query: DnsMessage, answers: DnsRecordInput[], options: { rcode?: number; truncated?: boolean; id?: number } = {}): Uint8Array {
  return encodeDnsMessage({
    id: options.id ?? query.id,
    response: true,
    recursionDesired: query.recursionDesired,
    recursionAvailable: true,
    rcode: options.rcode ?? DnsRcode.NOERROR,
    truncated: options.truncated,
    questions: query.questions,
    answers,
  });
}

const ipv6Bytes = (text: string) => {
  // Enough for the literals below: groups, with one '::'.
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
};

const EXAMPLE_RECORDS: DnsRecordInput[] = [
  { name: 'example.org', type: DnsType.AAAA, ttl: 123, data: ipv6Bytes('2001:db8::5') },
  { name: 'example.org', type: DnsType.A, ttl: 300, data: aRecordData('192.0.2.1') },
  { name: 'example.org', type: DnsType.A, ttl: 300, data: aRecordData('192.0.2.2') },
  { name: 'example.org', type: DnsType.AAAA, ttl: 123, data: ipv6Bytes('::1') },
];

/** Calls a callback-style resolver method; resolves with `{ result }` or `{ error }` as text. */
function call(resolver: any, method: string, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve) =>
    resolver[method](...args, (error: any, result: unknown) =>
      resolve(error ? { error: `${error.code} ${error.syscall} ${error.hostname} errno=${error.errno}: ${error.message}` } : { result }),
    ),
  );
}

function resolverFor(env: DnsEnvironment, servers: string[], options?: object): any {
  const resolver = new env.dns.Resolver(options);
  resolver.setServers(servers);
  return resolver;
}

describe('ustack dns against c-ares', () => {
  it('resolveAny, resolve4 with TTLs and resolve6: the same records, in the same shape and order', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, (query) => [reply(query, EXAMPLE_RECORDS)]);
        const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
        const any = await call(resolver, 'resolveAny', 'example.org');
        const a = await call(resolver, 'resolve4', 'example.org', { ttl: true });
        const aaaa = await call(resolver, 'resolve6', 'example.org');
        const viaResolve = await call(resolver, 'resolve', 'example.org', 'AAAA');
        server.close();
        return { any, a, aaaa, viaResolve, queries: server.queries };
      }),
    );
    // What c-ares asked, read by ustack's decoder: the name, ANY (255), A, AAAA, class IN, RD set.
    expect(outcome.queries).toEqual([
      'example.org type 255 class 1 rd=true qr=false',
      'example.org type 1 class 1 rd=true qr=false',
      'example.org type 28 class 1 rd=true qr=false',
      'example.org type 28 class 1 rd=true qr=false',
    ]);
    expect(outcome.a).toEqual({
      result: [
        { address: '192.0.2.1', ttl: 300 },
        { address: '192.0.2.2', ttl: 300 },
      ],
    });
    expect(outcome.aaaa).toEqual({ result: ['2001:db8::5', '::1'] });
  }, 30_000);

  it('follows a CNAME to the addresses, and resolveCname, resolveMx, resolveTxt, resolveNs read theirs', async () => {
    expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, (query) => {
          const question = query.questions[0];
          const records: Record<number, DnsRecordInput[]> = {
            [DnsType.A]: [
              { name: 'www.example.org', type: DnsType.CNAME, ttl: 60, data: nameRecordData('web.example.org') },
              { name: 'web.example.org', type: DnsType.A, ttl: 60, data: aRecordData('192.0.2.7') },
            ],
            [DnsType.CNAME]: [{ name: 'www.example.org', type: DnsType.CNAME, ttl: 60, data: nameRecordData('web.example.org') }],
            [DnsType.MX]: [
              { name: 'www.example.org', type: DnsType.MX, ttl: 60, data: Uint8Array.from([0, 10, ...nameRecordData('mx1.example.org')]) },
              { name: 'www.example.org', type: DnsType.MX, ttl: 60, data: Uint8Array.from([0, 20, ...nameRecordData('mx2.example.org')]) },
            ],
            [DnsType.TXT]: [
              { name: 'www.example.org', type: DnsType.TXT, ttl: 60, data: Uint8Array.from([5, ...Buffer.from('hello'), 2, ...Buffer.from('v=')]) },
            ],
            [DnsType.NS]: [{ name: 'www.example.org', type: DnsType.NS, ttl: 60, data: nameRecordData('ns.example.org') }],
          };
          return [reply(query, records[question.type] ?? [])];
        });
        const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
        const results = [];
        for (const method of ['resolve4', 'resolveCname', 'resolveMx', 'resolveTxt', 'resolveNs'])
          results.push(await call(resolver, method, 'www.example.org'));
        server.close();
        return results;
      }),
    );
  }, 30_000);

  // ustack and c-ares differ: c-ares returns an A record of any owner in the answer section;
  // RFC 1034 §3.6.2 and §5.3.3 make the answer the records of the name and its CNAME chain, as
  // glibc's resolver takes them.
  it('leaves out a record whose owner is neither the name nor on its CNAME chain (c-ares keeps it)', async () => {
    const outcome = ustackOnly(
      await everywhereUstack(async (env) => {
        const server = await dnsServer(env, (query) => [
          reply(query, [
            { name: 'www.example.org', type: DnsType.CNAME, ttl: 60, data: nameRecordData('web.example.org') },
            { name: 'web.example.org', type: DnsType.A, ttl: 60, data: aRecordData('192.0.2.7') },
            { name: 'other.example.org', type: DnsType.A, ttl: 60, data: aRecordData('192.0.2.99') },
          ]),
        ]);
        const a = await call(resolverFor(env, [`${server.address}:${server.port}`]), 'resolve4', 'WWW.example.org');
        server.close();
        return a;
      }),
    );
    expect(outcome).toEqual({ result: ['192.0.2.7'] });
  }, 30_000);

  it('NXDOMAIN is ENOTFOUND, an answer without the type ENODATA, a bad name EBADNAME: errors shaped as Node', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, (query) => [
          reply(query, [], { rcode: query.questions[0].name.startsWith('nx') ? DnsRcode.NXDOMAIN : DnsRcode.NOERROR }),
        ]);
        const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
        const nx = await call(resolver, 'resolve4', 'nx.example.org');
        const nodata = await call(resolver, 'resolve6', 'empty.example.org');
        const any = await call(resolver, 'resolveAny', 'empty.example.org');
        server.close();
        return { nx, nodata, any };
      }),
    );
    expect(outcome.nx).toEqual({ error: 'ENOTFOUND queryA nx.example.org errno=undefined: queryA ENOTFOUND nx.example.org' });
    expect(outcome.nodata).toEqual({ error: 'ENODATA queryAaaa empty.example.org errno=undefined: queryAaaa ENODATA empty.example.org' });
  }, 30_000);

  it('ignores a reply with another ID (RFC 5452 §9.1) and takes the matching one after it', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, (query) => [
          reply(query, [{ name: 'example.org', type: DnsType.A, ttl: 5, data: aRecordData('203.0.113.66') }], { id: query.id ^ 0x5555 }),
          reply(query, [{ name: 'example.org', type: DnsType.A, ttl: 5, data: aRecordData('192.0.2.1') }]),
        ]);
        const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
        const a = await call(resolver, 'resolve4', 'example.org');
        server.close();
        return a;
      }),
    );
    expect(outcome).toEqual({ result: ['192.0.2.1'] });
  }, 30_000);

  // Here ustack and c-ares differ, and the RFC sides with ustack (and glibc): RFC 1034 §5.3.3
  // deletes a server that shows a failure and asks the next one; Node 20's c-ares answers
  // ESERVFAIL without asking the second server. ustack's two environments must agree.
  it('after SERVFAIL asks the next server (RFC 1034 §5.3.3; c-ares does not)', async () => {
    const outcome = ustackOnly(
      await everywhereUstack(async (env) => {
        const failing = await dnsServer(env, (query) => [reply(query, [], { rcode: DnsRcode.SERVFAIL })]);
        const working = await dnsServer(env, (query) => [reply(query, [{ name: 'example.org', type: DnsType.A, ttl: 5, data: aRecordData('192.0.2.1') }])]);
        const resolver = resolverFor(env, [`${failing.address}:${failing.port}`, `${working.address}:${working.port}`]);
        const a = await call(resolver, 'resolve4', 'example.org');
        failing.close();
        working.close();
        return { a, failing: failing.queries.length, working: working.queries.length };
      }),
    );
    expect(outcome).toEqual({ a: { result: ['192.0.2.1'] }, failing: 1, working: 1 });
  }, 30_000);

  it('a silent server: `tries` queries, then ETIMEOUT', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, () => []);
        const resolver = resolverFor(env, [`${server.address}:${server.port}`], { timeout: 100, tries: 3 });
        const a = await call(resolver, 'resolve4', 'example.org');
        server.close();
        return { a, queries: server.queries.length };
      }),
    );
    expect(outcome).toEqual({ a: { error: 'ETIMEOUT queryA example.org errno=undefined: queryA ETIMEOUT example.org' }, queries: 3 });
  }, 30_000);

  it('a truncated answer is asked again over TCP (RFC 7766 §5)', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const answers = EXAMPLE_RECORDS.filter((record) => record.type === DnsType.A);
        const server = await dnsServer(env, (query) => [reply(query, [], { truncated: true })]);
        let tcpQueries = 0;
        const tcp = env.serverNet.createServer((connection: any) => {
          let received = Buffer.alloc(0);
          connection.on('data', (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
            const query = decodeDnsMessage(received.subarray(2, 2 + received.readUInt16BE(0)));
            if (!query.ok) return connection.destroy();
            tcpQueries++;
            const answer = reply(query.value, answers);
            const framed = Buffer.alloc(2 + answer.length);
            framed.writeUInt16BE(answer.length, 0);
            framed.set(answer, 2);
            connection.end(framed);
          });
        });
        await new Promise<void>((resolve) => tcp.listen(server.port, env.serverHost, resolve));
        const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
        const a = await call(resolver, 'resolve4', 'example.org');
        server.close();
        await new Promise((resolve) => tcp.close(resolve));
        return { a, udpQueries: server.queries.length, tcpQueries };
      }),
    );
    expect(outcome).toEqual({ a: { result: ['192.0.2.1', '192.0.2.2'] }, udpQueries: 1, tcpQueries: 1 });
  }, 30_000);

  it('cancel() ends a query in flight with ECANCELLED', async () => {
    expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, () => []);
        const resolver = resolverFor(env, [`${server.address}:${server.port}`], { timeout: 5000, tries: 1 });
        const pending = call(resolver, 'resolve4', 'example.org');
        await new Promise((resolve) => setImmediate(resolve));
        resolver.cancel();
        const a = await pending;
        server.close();
        return a;
      }),
    );
  }, 30_000);

  it('the promises API and the module-level resolver answer the same', async () => {
    expectSame(
      await everywhere(async (env) => {
        const server = await dnsServer(env, (query) =>
          query.questions[0].name.startsWith('nx') ? [reply(query, [], { rcode: DnsRcode.NXDOMAIN })] : [reply(query, EXAMPLE_RECORDS)],
        );
        const resolver = new env.dns.promises.Resolver();
        resolver.setServers([`${server.address}:${server.port}`]);
        const a = await resolver.resolve4('example.org');
        const any = await resolver.resolve('example.org', 'ANY');
        const failed = await resolver.resolve('nx.example.org', 'A').catch((error: any) => `${error.code} ${error.syscall}`);
        let thrown = '';
        try {
          resolver.resolve('example.org', 'NOPE');
        } catch (error: any) {
          thrown = error.code;
        }
        server.close();
        return { a, any, failed, thrown };
      }),
    );
  }, 30_000);

  it('setServers and getServers: the forms Node takes and writes back, and its errors', async () => {
    const outcome = expectSame(
      await everywhere(async (env) => {
        const resolver = new env.dns.Resolver();
        resolver.setServers(['192.0.2.53', '192.0.2.53:5353', '2001:db8::53', '[2001:db8::53]:5353', '[2001:db8::54]']);
        const servers = resolver.getServers();
        const errors = [];
        for (const bad of [['not-an-address'], '192.0.2.53', [53], ['[192.0.2.53]:53']]) {
          try {
            resolver.setServers(bad);
            errors.push('accepted');
          } catch (error: any) {
            errors.push(`${error.name} ${error.code}: ${error.message}`);
          }
        }
        return { servers, errors };
      }),
    );
    expect(outcome.servers).toEqual(['192.0.2.53', '192.0.2.53:5353', '2001:db8::53', '[2001:db8::53]:5353', '2001:db8::54']);
  });
});

describe('the DNS codec (RFC 1035 §4.1) on hostile bytes', () => {
  const query = encodeDnsQuery(0x1234, 'www.example.org', DnsType.A);

  it('reads what it writes', () => {
    const decoded = decodeDnsMessage(query);
    expect(decoded.ok && decoded.value.questions).toEqual([{ name: 'www.example.org', type: 1, class: 1 }]);
    expect(decoded.ok && decoded.value.id).toBe(0x1234);
  });

  it('follows a pointer back, refuses one forward, to itself, or in a loop', () => {
    // At 12 "example.org", at 25 "www" then a pointer to 12.
    const message = Uint8Array.from([...query.subarray(0, 12), 7, ...Buffer.from('example'), 3, ...Buffer.from('org'), 0, 3, ...Buffer.from('www'), 0xc0, 12]);
    const back = readDnsName(message, 25);
    expect(back.ok && back.value).toEqual({ name: 'www.example.org', next: 31 });
    const forward = Uint8Array.from([...message, 0xc0, 40]);
    expect(readDnsName(forward, 31)).toMatchObject({ ok: false, error: { reason: 'badPointer' } });
    const self = Uint8Array.from([...query.subarray(0, 12), 0xc0, 12]);
    expect(readDnsName(self, 12)).toMatchObject({ ok: false, error: { reason: 'badPointer' } });
    // 12 → 14 → 12: the second hop goes forward of the first target.
    const loop = Uint8Array.from([...query.subarray(0, 12), 0xc0, 14, 0xc0, 12]);
    expect(readDnsName(loop, 14)).toMatchObject({ ok: false, error: { reason: 'badPointer' } });
  });

  it('refuses names over 255 octets, reserved label types, and counts or lengths past the end', () => {
    const long = Uint8Array.from([...query.subarray(0, 12), ...Array.from({ length: 5 }, () => [63, ...Array(63).fill(0x61)]).flat(), 0]);
    expect(readDnsName(long, 12)).toMatchObject({ ok: false, error: { reason: 'badName' } });
    expect(readDnsName(Uint8Array.from([0x40, 1, 0]), 0)).toMatchObject({ ok: false, error: { reason: 'badName' } });
    expect(decodeDnsMessage(query.subarray(0, 11))).toMatchObject({ ok: false, error: { reason: 'truncated' } });
    expect(decodeDnsMessage(query.subarray(0, query.length - 1))).toMatchObject({ ok: false, error: { reason: 'truncated' } });
    const moreAnswers = Uint8Array.from(query);
    moreAnswers[7] = 1; // ANCOUNT 1, no record
    expect(decodeDnsMessage(moreAnswers)).toMatchObject({ ok: false, error: { reason: 'truncated' } });
    expect(() => encodeDnsQuery(1, `${'a'.repeat(64)}.org`, DnsType.A)).toThrow(RangeError);
  });

  it('never throws on random or mutated bytes (20,000 seeded cases)', () => {
    const rng = new Rng(15);
    const sample = reply(decodeDnsMessage(query).ok ? (decodeDnsMessage(query) as { value: DnsMessage }).value : (null as never), EXAMPLE_RECORDS);
    for (let i = 0; i < 20_000; i++) {
      const bytes = i % 2 === 0 ? Uint8Array.from({ length: rng.nextU32() % 80 }, () => rng.nextU32() & 0xff) : Uint8Array.from(sample);
      if (i % 2 === 1) for (let flips = 0; flips < 4; flips++) bytes[rng.nextU32() % bytes.length] = rng.nextU32() & 0xff;
      expect(() => decodeDnsMessage(bytes)).not.toThrow();
    }
  });

  it('the resolver drops and counts what is not an answer, and still takes the real one', async () => {
    const env = withDns('virtual') as DnsEnvironment & { client: Stack };
    environments.push(env);
    const outcome = await env.run(async () => {
      const server = await dnsServer(env, (q) => [
        Uint8Array.from([1, 2, 3]),
        Uint8Array.from([...reply(q, []).subarray(0, 12), 0xc0, 12]),
        reply(q, [], { id: q.id ^ 1 }),
        reply(q, [{ name: 'example.org', type: DnsType.A, ttl: 5, data: aRecordData('192.0.2.1') }]),
      ]);
      const resolver = resolverFor(env, [`${server.address}:${server.port}`]);
      const a = await call(resolver, 'resolve4', 'example.org');
      server.close();
      return a;
    });
    expect(outcome).toEqual({ result: ['192.0.2.1'] });
    const stats = env.client.stats;
    expect([stats.get('drop.dns.truncated'), stats.get('drop.dns.badPointer'), stats.get('drop.dns.unmatched'), stats.get('dns.rx.replies')]).toEqual([
      1, 1, 1, 1,
    ]);
  });
});

const TSHARK = tsharkVersion();
if (TSHARK === undefined && process.env.CI !== 'true') console.warn('SKIPPED (no tshark): ustack dns messages read by tshark');

describe.runIf(TSHARK !== undefined || process.env.CI === 'true')('ustack dns messages read by tshark', () => {
  it("tshark reads ustack's queries and the codec's answers as sent, and finds nothing malformed", async () => {
    const network = new VirtualNetwork(5);
    const client = network.createStack('client');
    const server = network.createStack('server');
    const wire = network.connect({ stack: client, address: '10.0.0.1/24', capture: true }, { stack: server, address: '10.0.0.2/24' });
    const env: DnsEnvironment = { ...virtualEnvironment(), serverDgram: server.dgram, serverHost: '10.0.0.2', dns: client.dns, stacks: [client, server] };
    const outcome = await network.runAsync(async () => {
      const dns = await dnsServer(env, (query) => [reply(query, EXAMPLE_RECORDS)]);
      const resolver = resolverFor(env, [`${dns.address}:${dns.port}`]);
      const any = await call(resolver, 'resolveAny', 'example.org');
      const a = await call(resolver, 'resolve4', 'example.org');
      dns.close();
      return { any, a, port: dns.port };
    });
    expect(outcome.a).toEqual({ result: ['192.0.2.1', '192.0.2.2'] });
    const file = join(mkdtempSync(join(tmpdir(), 'ustack-dns-')), 'dns.pcap');
    writeFileSync(file, wire.a.tap!.writer.toBytes());
    const fields = ['dns.flags.response', 'dns.flags.recdesired', 'dns.qry.name', 'dns.qry.type', 'dns.a', 'dns.aaaa', 'dns.resp.ttl'];
    const run = spawnSync(
      'tshark',
      ['-n', '-r', file, '-d', `udp.port==${outcome.port},dns`, '-Y', 'dns', '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f])],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    // tshark writes flags as 0/1 or, in newer versions, False/True.
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => line.replaceAll('False', '0').replaceAll('True', '1'));
    expect(lines).toEqual([
      '0;1;example.org;255;;;',
      '1;1;example.org;255;192.0.2.1,192.0.2.2;2001:db8::5,::1;123,300,300,123',
      '0;1;example.org;1;;;',
      '1;1;example.org;1;192.0.2.1,192.0.2.2;2001:db8::5,::1;123,300,300,123',
    ]);
    const malformed = spawnSync('tshark', ['-n', '-r', file, '-Y', 'dns && _ws.malformed'], { encoding: 'utf8' });
    expect(malformed.stdout).toBe('');
  });
});
