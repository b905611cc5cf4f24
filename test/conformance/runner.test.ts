/**
 * The runner itself (src/drill): what portable mode and --linux compare, split segments,
 * backtick mapping and its warnings, syntax errors, blocking-call timing, and the command's
 * report. The conformance scripts test ustack; these test that the runner can fail.
 */
import { describe, expect, test } from 'vitest';
import { runDrill } from '../../src/drill/drill-command.js';
import { runScript } from '../../src/drill/runner.js';
import { expandCommand } from '../../src/drill/shell-scripts.js';
import { mapShellCommand } from '../../src/drill/sysctl.js';

const LISTEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`;
const ESTABLISHED = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
`;

async function run(source: string, overrides: { name: string; value?: string }[] = []) {
  return runScript(source, { name: 'inline.pkt', overrides: overrides.map((o) => ({ name: o.name, value: o.value })) });
}

describe('option comparison', () => {
  const reordered = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <nop,wscale 5,TS val 0 ecr 100,sackOK,mss 1460>
`;
  test('portable mode compares options as a set', async () => {
    expect((await run(reordered)).passed).toBe(true);
  });
  test('--linux wants them in order', async () => {
    const result = await run(reordered, [{ name: 'linux' }]);
    expect(result.passed).toBe(false);
    expect(result.failure?.line).toBe(6);
  });
  test('a written value is checked, an unwritten one is not', async () => {
    const base = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n`;
    expect((await run(`${base}+0 > S. 0:0(0) ack 1 <mss,sackOK,TS,nop,wscale>\n`)).passed).toBe(true);
    const wrong = await run(`${base}+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 8>\n`);
    expect(wrong.failure?.message).toContain('wscale 5, expected 8');
  });
  test('without an option list, portable mode does not check options and --linux wants none', async () => {
    const script = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n+0 > S. 0:0(0) ack 1\n`;
    expect((await run(script)).passed).toBe(true);
    expect((await run(script, [{ name: 'linux' }])).passed).toBe(false);
  });
});

describe('segments and timing', () => {
  const split = `${ESTABLISHED}+0 write(4, ..., 2000) = 2000\n+0 > P. 1:2001(2000) ack 1\n`;
  test('one scripted packet matches several smaller segments', async () => {
    expect((await run(split)).passed).toBe(true);
  });
  test('--strict_segments does not allow it', async () => {
    const result = await run(split, [{ name: 'strict_segments' }]);
    expect(result.failure?.message).toContain('payload 1000 bytes, expected 2000');
  });
  test('a packet outside the tolerance fails, a wider tolerance lets it pass', async () => {
    const late = `${ESTABLISHED}+0 < . 1:1001(1000) ack 1 win 65535\n+.03 > . 1:1(0) ack 1001\n`;
    const result = await run(late);
    expect(result.failure?.message).toContain('ustack sent nothing by 0.134 s');
    expect((await run(late, [{ name: 'tolerance_usecs', value: '20000' }])).passed).toBe(true);
  });
  test('a blocking call must return at its end time', async () => {
    const script = `${LISTEN}+0...0.05 accept(3, ..., ...) = 4
+.1 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0 < . 1:1(0) ack 1 win 65535
`;
    const result = await run(script);
    expect(result.failure?.line).toBe(5);
    expect(result.failure?.message).toContain('still blocked');
  });
  test('the end of a relative blocking call counts from the same base as its start (packetdrill)', async () => {
    // The read starts at 0.2 s and ends at 0.1 + 0.3 = 0.4 s, when the data arrives.
    const script = `${ESTABLISHED}+.1...0.3 read(4, ..., 10) = 10\n+.2 < P. 1:11(10) ack 1 win 65535\n`;
    expect((await run(script)).passed).toBe(true);
    const early = await run(`${ESTABLISHED}+.1...0.2 read(4, ..., 10) = 10\n+.2 < P. 1:11(10) ack 1 win 65535\n`);
    expect(early.failure?.message).toContain('should have returned at 0.300 s');
  });
  test("ustack's TS val is checked only with --tcp_ts_tick_usecs (packetdrill's default 0 leaves it unchecked)", async () => {
    const script = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,TS val 500 ecr 100>
+0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 500>
+0 accept(3, ..., ...) = 4
+.1 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 <nop,nop,TS val 700 ecr 110>
`;
    expect((await run(script)).passed).toBe(true);
    const checked = await run(script, [{ name: 'tcp_ts_tick_usecs', value: '1000' }]);
    expect(checked.failure?.message).toContain('TS val 600, expected 700');
  });
  test('a call that blocks without start...end fails', async () => {
    const result = await run(`${LISTEN}+0 accept(3, ..., ...) = 4\n`);
    expect(result.failure?.message).toContain('blocked');
  });
  test('a minute of TIME-WAIT runs in virtual time', async () => {
    const started = performance.now();
    const result = await run(`${ESTABLISHED}+0 close(4) = 0
+0 > F. 1:1(0) ack 1
+0 < F. 1:1(0) ack 2 win 65535
+0 > . 2:2(0) ack 2
+61 < . 2:2(0) ack 2 win 65535
+0 > R 2:2(0)
`);
    expect(result.passed).toBe(true);
    expect(result.virtualSeconds).toBeGreaterThan(61);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('backtick lines', () => {
  test('Linux sysctls map to ustack configuration', () => {
    const outcome = mapShellCommand('sysctl -q net.ipv4.tcp_sack=0; sysctl -q net.ipv4.tcp_ecn=0', true);
    expect(outcome.changes).toEqual({ sack: false, ecn: 'off' });
    expect(outcome.unsupported).toEqual([]);
  });
  test('the RFC 5961 §7 limits: tcp_invalid_ratelimit (per connection, ms) and tcp_challenge_ack_limit (stack-wide ceiling)', () => {
    const outcome = mapShellCommand('sysctl -q net.ipv4.tcp_invalid_ratelimit=0 net.ipv4.tcp_challenge_ack_limit=2147483647', true);
    expect(outcome.changes).toEqual({ invalidAckRateLimitMs: 0, challengeAckPerSecond: 2147483647 });
    expect(outcome.unsupported).toEqual([]);
  });
  test('FreeBSD sysctls map in portable mode only', () => {
    expect(mapShellCommand('sysctl net.inet.tcp.msl=5000', true).changes).toEqual({ timeWaitMs: 10000 });
    expect(mapShellCommand('sysctl net.inet.tcp.msl=5000', false).unsupported).toHaveLength(1);
  });
  test('the loss-recovery sysctls: tcp_reordering (DupThresh), tcp_recovery (RACK bits 0x2, 0x4), tcp_early_retrans (TLP at 3 or 4), tcp_dsack', () => {
    expect(
      mapShellCommand('sysctl -q net.ipv4.tcp_reordering=5 net.ipv4.tcp_recovery=1 net.ipv4.tcp_early_retrans=4 net.ipv4.tcp_dsack=1', true).changes,
    ).toEqual({
      duplicateThreshold: 5,
      rackAdaptiveReorderWindow: true,
      rackDuplicateThreshold: true,
      tailLossProbe: true,
      duplicateSack: true,
    });
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_recovery=6 net.ipv4.tcp_early_retrans=0 net.ipv4.tcp_dsack=0', true).changes).toEqual({
      rackAdaptiveReorderWindow: false,
      rackDuplicateThreshold: false,
      tailLossProbe: false,
      duplicateSack: false,
    });
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_reordering=0', true).unsupported).toHaveLength(1);
  });
  test('tcp_frto: 0 off, 1 and 2 on (RFC 5682)', () => {
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_frto=2', true).changes).toEqual({ frto: true });
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_frto=1', true).changes).toEqual({ frto: true });
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_frto=0', true).changes).toEqual({ frto: false });
    expect(mapShellCommand('sysctl -q net.ipv4.tcp_frto=3', true).unsupported).toHaveLength(1);
  });
  test("set_sysctls.py's arguments are split as the shell splits them: a quoted value keeps its spaces", () => {
    const expanded = expandCommand(
      '../common/set_sysctls.py /proc/sys/net/ipv4/tcp_wmem="4096 50000 4194304" \\\n /proc/sys/net/ipv4/tcp_notsent_lowat=8000',
      undefined,
    );
    expect(expanded.commands.map((c) => c.text)).toEqual([
      'echo "4096 50000 4194304" > /proc/sys/net/ipv4/tcp_wmem',
      'echo "8000" > /proc/sys/net/ipv4/tcp_notsent_lowat',
    ]);
    expect(mapShellCommand(expanded.commands[0].text, true).changes).toEqual({ sendBufferSize: 50000, sendBufferMax: 4194304 });
  });
  test('ip route lines set a route with its MTU and advmss; initcwnd stays stack-wide; ethtool offload off is what the link has', () => {
    const outcome = mapShellCommand('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11', false);
    expect(outcome.routes).toEqual([{ destination: '192.0.2.1/32', via: '192.168.0.2', advertisedMss: 600, mtu: 640 }]);
    expect(outcome.changes).toEqual({ initialWindowSegments: 11 });
    expect(mapShellCommand('ip route change 192.0.2.0/24 dev tun0 rtt 10ms', true).unsupported).toHaveLength(1);
    expect(mapShellCommand('ethtool -K tun0 gso off tso off', true).unsupported).toEqual([]);
    expect(mapShellCommand('ethtool -K tun0 gso on', true).unsupported).toHaveLength(1);
  });
  test('initcwnd and ustack settings', () => {
    expect(mapShellCommand('ip route change 192.0.2.0/24 dev tun0 initcwnd 4', true).changes).toEqual({ initialWindowSegments: 4 });
    expect(mapShellCommand('ustack tcp.delayedAckMs=100 tcp.timestamps=false', true).changes).toEqual({ delayedAckMs: 100, timestamps: false });
  });
  test('anything else is reported, not silently ignored', async () => {
    const result = await run('`tc qdisc add dev tun0 root netem delay 10ms`\n`sysctl -q net.ipv4.tcp_fack=0`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
    expect(result.passed).toBe(true);
    expect(result.warnings.filter((w) => w.includes('unsupported'))).toHaveLength(2);
  });
});

describe('errors and the report', () => {
  test('a syntax error names its line', async () => {
    const result = await run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:0 win 5\n');
    expect(result.failure?.line).toBe(2);
    expect(result.failure?.message).toMatch(/^syntax:/);
  });
  test('a wrong errno fails with both outcomes shown', async () => {
    const result = await run(`${LISTEN}+0 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)\n`);
    expect(result.passed).toBe(false);
    expect(result.failure?.actual).toContain('ENOTCONN');
  });
  test('ustack drill prints PASS/FAIL per script and the summary line', async () => {
    const lines: string[] = [];
    const code = await runDrill(
      ['--pcap_dir=/tmp/ustack-drill-test', 'test/conformance/handshake-active-blocking.pkt', 'test/conformance/does-not-exist.pkt'],
      (l) => lines.push(l),
    );
    expect(code).toBe(1);
    expect(lines[0]).toBe('PASS test/conformance/handshake-active-blocking.pkt');
    expect(lines.some((l) => l.startsWith('FAIL test/conformance/does-not-exist.pkt: cannot read'))).toBe(true);
    expect(lines.at(-1)).toBe('1 passed, 1 failed, 0 unsupported');
  });
});
