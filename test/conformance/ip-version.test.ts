/**
 * packetdrill's three modes (`--ip_version=ipv4|ipv4-mapped-ipv6|ipv6`, src/drill/ip-version.ts):
 * the same script runs in each, with the mode's socket domain, addresses and wire family, and
 * Google's run_all.py variants (`--run_all`) report per mode. The packets are read back from the
 * run's pcap, so a wrong family or address fails here, not only in the runner's own matching.
 * The scripts of our own for each mode are `ipv6-*.pkt` and `ipv4-mapped-ipv6-*.pkt` beside this
 * file (conformance.test.ts runs them).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatIpv4Address } from '../../src/ip/address.js';
import { formatIpv6Address } from '../../src/ip/ipv6-address.js';
import { runDrill } from '../../src/drill/drill-command.js';
import { matchTcp } from '../../src/drill/match.js';
import { runScript } from '../../src/drill/runner.js';
import { mapShellCommand } from '../../src/drill/sysctl.js';
import { decodeFrame, type DecodedPacket, type Flow } from '../../src/drill/wire.js';
import { readPcap } from '../../src/pcap/pcap-reader.js';

/** A passive open and a segment sent; its MSS is left open (`mss`) as the modes differ. */
const SCRIPT = `0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <mss,sackOK,nop,nop,nop,wscale>
+.1 < . 1:1(0) ack 1 win 514
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 1
+.1 < . 1:1(0) ack 11 win 514
`;

/** Every frame of a run's pcap, decoded, with its addresses as text. */
function framesOf(pcap: Uint8Array): { packet: DecodedPacket; source: string; destination: string }[] {
  const file = readPcap(pcap);
  if (!file.ok) throw new Error(file.error.message);
  return file.value.records.map((record) => {
    const packet = decodeFrame(record.data);
    const text = (address: number | Uint8Array | undefined) =>
      address === undefined ? '' : typeof address === 'number' ? formatIpv4Address(address) : formatIpv6Address(address);
    return { packet, source: text(packet.ip?.source), destination: text(packet.ip?.destination) };
  });
}

/** The MSS option of the SYN-ACK ustack sent. */
function synAckMss(frames: ReturnType<typeof framesOf>): number | undefined {
  for (const { packet } of frames) {
    if (packet.protocol !== 'tcp' || (packet.tcp.flags & 0x12) !== 0x12) continue;
    const mss = packet.tcp.options.find((option) => option.kind === 'maxSegmentSize');
    return mss && mss.kind === 'maxSegmentSize' ? mss.mss : undefined;
  }
  return undefined;
}

describe('--ip_version: one script, three modes', () => {
  test('ipv4: IPv4 packets between 192.0.2.1 and 192.168.0.1, MSS 1500 − 40', async () => {
    const result = await runScript(SCRIPT, { name: 'modes.pkt', overrides: [{ name: 'ip_version', value: 'ipv4' }] });
    expect(result.failure).toBe(null);
    expect(result.ipVersion).toBe('ipv4');
    const frames = framesOf(result.pcap);
    expect(frames.every((f) => f.packet.ip?.family === 4)).toBe(true);
    expect(frames[0]).toMatchObject({ source: '192.0.2.1', destination: '192.168.0.1' });
    expect(synAckMss(frames)).toBe(1460);
  });

  test("ipv6: IPv6 packets between packetdrill's 2001:db8::1 and fd3d:fa7b:d17d::1, MSS 1500 − 60", async () => {
    const result = await runScript(SCRIPT, { name: 'modes.pkt', overrides: [{ name: 'ip_version', value: 'ipv6' }] });
    expect(result.failure).toBe(null);
    expect(result.ipVersion).toBe('ipv6');
    const frames = framesOf(result.pcap);
    expect(frames.length).toBeGreaterThan(4);
    expect(frames.every((f) => f.packet.ip?.family === 6)).toBe(true);
    expect(frames[0]).toMatchObject({ source: '2001:db8::1', destination: 'fd3d:fa7b:d17d::1' });
    expect(frames[1]).toMatchObject({ source: 'fd3d:fa7b:d17d::1', destination: '2001:db8::1' });
    expect(synAckMss(frames)).toBe(1440);
  });

  test("ipv6 with run_all.py's --mtu=1520 offers 1460, the MSS Google's scripts write", async () => {
    const overrides = [
      { name: 'ip_version', value: 'ipv6' },
      { name: 'mtu', value: '1520' },
    ];
    const result = await runScript(SCRIPT, { name: 'modes.pkt', overrides });
    expect(result.failure).toBe(null);
    expect(synAckMss(framesOf(result.pcap))).toBe(1460);
  });

  test('ipv4-mapped-ipv6: IPv4 packets, an AF_INET6 socket', async () => {
    // IPV6_V6ONLY is an option of AF_INET6 sockets only: ENOPROTOOPT on an AF_INET one.
    const script = SCRIPT.replace('+0  bind', '+0  getsockopt(3, IPPROTO_IPV6, IPV6_V6ONLY, [0], [4]) = 0\n+0  bind');
    const mapped = await runScript(script, { name: 'modes.pkt', overrides: [{ name: 'ip_version', value: 'ipv4-mapped-ipv6' }] });
    expect(mapped.failure).toBe(null);
    const frames = framesOf(mapped.pcap);
    expect(frames.every((f) => f.packet.ip?.family === 4)).toBe(true);
    expect(frames[0]).toMatchObject({ source: '192.0.2.1', destination: '192.168.0.1' });
    expect(synAckMss(frames)).toBe(1460);
    const plain = await runScript(script, { name: 'modes.pkt', overrides: [{ name: 'ip_version', value: 'ipv4' }] });
    expect(plain.failure?.message).toBe('the call failed differently');
    expect(plain.failure?.actual).toContain('ENOPROTOOPT');
  });

  test("the script's own --ip_version line chooses the mode; the command line's wins over it", async () => {
    expect((await runScript(`--ip_version=ipv6\n${SCRIPT}`, { name: 'x.pkt' })).ipVersion).toBe('ipv6');
    const overridden = await runScript(`--ip_version=ipv6\n${SCRIPT}`, { name: 'x.pkt', overrides: [{ name: 'ip_version', value: 'ipv4' }] });
    expect(overridden.ipVersion).toBe('ipv4');
    expect(overridden.failure).toBe(null);
  });

  test('--local_ip and --remote_ip must be of the wire family; an unknown mode is refused', async () => {
    const wrong = await runScript(`--ip_version=ipv6\n--remote_ip=192.0.2.9\n${SCRIPT}`, { name: 'x.pkt' });
    expect(wrong.failure?.message).toMatch(/bad address for --ip_version=ipv6/);
    const chosen = await runScript(`--ip_version=ipv6\n--local_ip=fd00:1::2\n--remote_ip=fd00:2::3\n${SCRIPT}`, { name: 'x.pkt' });
    expect(chosen.failure).toBe(null);
    expect(framesOf(chosen.pcap)[1]).toMatchObject({ source: 'fd00:1::2', destination: 'fd00:2::3' });
    const unknown = await runScript(`--ip_version=ipv7\n${SCRIPT}`, { name: 'x.pkt' });
    expect(unknown.failure?.message).toMatch(/packetdrill's modes are ipv4, ipv4-mapped-ipv6 and ipv6/);
  });

  test('a packet of the other family does not match a line, whatever its TCP header', async () => {
    const result = await runScript(SCRIPT, { name: 'modes.pkt', overrides: [{ name: 'ip_version', value: 'ipv6' }] });
    const synAck = framesOf(result.pcap).find((f) => f.packet.protocol === 'tcp' && (f.packet.tcp.flags & 0x12) === 0x12)!.packet;
    const flow: Flow = {
      family: 4,
      localAddress: 0xc0a80001,
      remoteAddress: 0xc0000201,
      localPort: 8080,
      remotePort: 40000,
      localIsn: null,
      remoteIsn: 0,
      tsOffset: null,
      nextIpId: 1,
    };
    const spec = { protocol: 'tcp', flags: 'S.', seqStart: 0, seqEnd: 0, length: 0, ack: 1 } as const;
    const settings = { portable: true, tsToleranceTicks: 1, strictSegments: false };
    expect(matchTcp(spec, synAck, flow, settings)).toEqual({ kind: 'mismatch', differences: ['an IPv6 packet, expected IPv4'] });
    expect(matchTcp(spec, synAck, { ...flow, family: 6 }, settings)).toEqual({ kind: 'match' });
  });

  test('`ip -6 route change … advmss N` sets the MSS an IPv6 listener offers', async () => {
    const outcome = mapShellCommand('ip -6 route change 2001:DB8::1 via fd3d:fa7b:d17d:8888::0 dev tun0 advmss 1000', true);
    expect(outcome.routes).toEqual([{ destination: '2001:DB8::1/128', via: 'fd3d:fa7b:d17d:8888::0', advertisedMss: 1000 }]);
    const script = `--ip_version=ipv6\n\`ip -6 route change 2001:db8::1 dev tun0 advmss 1000\`\n${SCRIPT}`;
    const result = await runScript(script, { name: 'x.pkt' });
    expect(result.failure).toBe(null);
    expect(synAckMss(framesOf(result.pcap))).toBe(1000);
  });
});

describe('the error queue of an AF_INET6 socket', () => {
  /** A MSG_ZEROCOPY completion read with the control message's level and type as given. */
  const zerocopy = (level: string, type: string) => `\`ustack tcp.ecn=off\`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1000>
+0  > S. 0:0(0) ack 1 <mss>
+.01 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  send(4, ..., 100, MSG_ZEROCOPY) = 100
+0  > P. 1:101(100) ack 1
+.01 < . 1:1(0) ack 101 win 65535
+0  recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE,
                msg_control=[{cmsg_level=${level}, cmsg_type=${type},
                              cmsg_data={ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0,
                                         ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info=0, ee_data=0}}]}, MSG_ERRQUEUE) = 0
`;
  const runIn = (source: string, mode: string) => runScript(source, { name: 'zc.pkt', overrides: [{ name: 'ip_version', value: mode }] });

  test("is SOL_IPV6 / IPV6_RECVERR in the AF_INET6 modes, SOL_IP / IP_RECVERR in ipv4; CMSG_LEVEL_IP and CMSG_TYPE_RECVERR mean each mode's, as run_all.py's -D", async () => {
    for (const mode of ['ipv4', 'ipv4-mapped-ipv6', 'ipv6']) {
      expect((await runIn(zerocopy('CMSG_LEVEL_IP', 'CMSG_TYPE_RECVERR'), mode)).failure, mode).toBe(null);
    }
    expect((await runIn(zerocopy('SOL_IP', 'IP_RECVERR'), 'ipv4')).failure).toBe(null);
    expect((await runIn(zerocopy('SOL_IPV6', 'IPV6_RECVERR'), 'ipv6')).failure).toBe(null);
    expect((await runIn(zerocopy('SOL_IPV6', 'IPV6_RECVERR'), 'ipv4')).failure?.message).toMatch(/control messages/);
    expect((await runIn(zerocopy('SOL_IP', 'IP_RECVERR'), 'ipv4-mapped-ipv6')).failure?.message).toMatch(/control messages/);
  });
});

describe("FreeBSD's sockstat -4 / -6 in the IPv6 scripts", () => {
  test('-6 lists the AF_INET6 listener and its IPv6 connection, -4 neither', async () => {
    const check = (flag: string, state: string, count: number) => `+0 \`sockstat ${flag} -P tcp -p 8080 -s | grep -c ${state} | grep ${count}\`\n`;
    const script = `--ip_version=ipv6\n${SCRIPT}${check('-6', 'LISTEN', 1)}${check('-6', 'ESTABLISHED', 1)}${check('-4', 'LISTEN', 0)}${check('-4', 'ESTABLISHED', 0)}`;
    const result = await runScript(script, { name: 'x.pkt' });
    expect(result.failure).toBe(null);
    expect(result.warnings).toEqual([]);
    const wrong = await runScript(`--ip_version=ipv6\n${SCRIPT}${check('-4', 'LISTEN', 1)}`, { name: 'x.pkt' });
    expect(wrong.failure?.message).toMatch(/exited with status 1/);
    // In the ipv4 mode the same listener is tcp4.
    const v4 = await runScript(`${SCRIPT}${check('-4', 'LISTEN', 1)}${check('-6', 'LISTEN', 0)}`, { name: 'x.pkt' });
    expect(v4.failure).toBe(null);
  });
});

describe('--run_all: Google run_all.py variants, results per mode', () => {
  test('each script in each variant, *v4.pkt never in ipv6 and *v6.pkt only there; a table and counts per mode', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ustack-run-all-'));
    writeFileSync(join(folder, 'any.pkt'), SCRIPT);
    writeFileSync(join(folder, 'only-v4.pkt'), SCRIPT);
    writeFileSync(join(folder, 'only-v6.pkt'), SCRIPT);
    // Passes only where the socket is AF_INET6 (ipv4-mapped-ipv6, ipv6).
    writeFileSync(join(folder, 'inet6.pkt'), '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_IPV6, IPV6_V6ONLY, [0], [4]) = 0\n');
    const lines: string[] = [];
    const code = await runDrill([`--pcap_dir=${join(folder, 'pcaps')}`, '--run_all', folder], (line) => lines.push(line));
    expect(code).toBe(1);
    expect(lines.filter((l) => /^(PASS|FAIL)/.test(l)).map((l) => l.replace(/:.*/, ''))).toEqual([
      'PASS any.pkt',
      'PASS any.pkt (ipv4-mapped-ipv6)',
      'PASS any.pkt (ipv6)',
      'FAIL inet6.pkt',
      'PASS inet6.pkt (ipv4-mapped-ipv6)',
      'PASS inet6.pkt (ipv6)',
      'PASS only-v4.pkt',
      'PASS only-v4.pkt (ipv4-mapped-ipv6)',
      'PASS only-v6.pkt (ipv6)',
    ]);
    expect(lines).toContain('ipv4: 2 passed, 1 failed, 0 unsupported');
    expect(lines).toContain('ipv4-mapped-ipv6: 3 passed, 0 failed, 0 unsupported');
    expect(lines).toContain('ipv6: 3 passed, 0 failed, 0 unsupported');
    expect(lines.indexOf('ipv6:')).toBeGreaterThan(lines.indexOf('ipv4-mapped-ipv6:'));
    expect(lines.at(-1)).toBe('8 passed, 1 failed, 0 unsupported');
    const only6: string[] = [];
    expect(await runDrill([`--pcap_dir=${join(folder, 'pcaps')}`, '--run_all=ipv6', folder], (line) => only6.push(line))).toBe(0);
    expect(only6.at(-1)).toBe('3 passed, 0 failed, 0 unsupported');
  });

  test('a run entirely in ipv4 reports as before, without modes', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ustack-run-v4-'));
    writeFileSync(join(folder, 'any.pkt'), SCRIPT);
    const lines: string[] = [];
    expect(await runDrill([folder], (line) => lines.push(line))).toBe(0);
    expect(lines).toEqual([
      'PASS any.pkt',
      '',
      '| folder | passed | failed | unsupported |',
      '| --- | --- | --- | --- |',
      '| . | 1 | 0 | 0 |',
      '',
      '1 passed, 0 failed, 0 unsupported',
    ]);
  });

  test('mistaken modes are usage errors', async () => {
    const out = () => {};
    await expect(runDrill(['--run_all=ipv5', 'x.pkt'], out)).rejects.toThrow(/--run_all takes modes from ipv4, ipv4-mapped-ipv6, ipv6, not 'ipv5'/);
    await expect(runDrill(['--ip_version=v6', 'x.pkt'], out)).rejects.toThrow(/--ip_version takes ipv4, ipv4-mapped-ipv6, ipv6, not 'v6'/);
    await expect(runDrill(['--run_all', '--ip_version=ipv6', 'x.pkt'], out)).rejects.toThrow(/--run_all chooses the modes itself/);
  });
});
