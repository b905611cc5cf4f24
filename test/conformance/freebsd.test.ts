/**
 * The drill's FreeBSD side (src/drill/sysctl.ts FREEBSD, src/drill/freebsd-tools.ts): its
 * sysctls become TcpConfig settings and the FreeBSD profile, `sockstat … | grep …` pipelines
 * and `tcpdrop` are answered from ustack's tables, and a pipeline that exits non-zero fails
 * the script as packetdrill's shell would.
 */
import { describe, expect, test } from 'vitest';
import { runFreeBsdTool } from '../../src/drill/freebsd-tools.js';
import { runScript } from '../../src/drill/runner.js';
import { mapShellCommand } from '../../src/drill/sysctl.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { Stack } from '../../src/socket-api/stack.js';

const LISTEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`;

async function run(source: string) {
  return runScript(source, { name: 'inline.pkt' });
}

describe('FreeBSD sysctls', () => {
  test('each becomes a TcpConfig setting', () => {
    const outcome = mapShellCommand(
      'sysctl -w net.inet.tcp.recvspace=65536 net.inet.tcp.sendspace=32768 kern.ipc.maxsockbuf=2097152 net.inet.tcp.blackhole=2 net.inet.tcp.drop_synfin=1 net.inet.tcp.insecure_syn=1 net.inet.tcp.insecure_rst=1 net.inet.tcp.keepinit=75000 net.inet.tcp.ecn.enable=2',
      true,
    );
    expect(outcome.unsupported).toEqual([]);
    expect(outcome.changes).toMatchObject({
      receiveBufferSize: 65536,
      sendBufferSize: 32768,
      receiveBufferMax: 2097152,
      closedPortReset: 'never',
      dropSynFin: true,
      inWindowSyn: 'reset',
      inWindowReset: 'accept',
      handshakeTimeoutMs: 75000,
      ecn: 'accept',
    });
  });

  test('the first FreeBSD sysctl applies the FreeBSD profile, and says so once', async () => {
    const script =
      '`sysctl -w net.inet.tcp.rfc1323=1`\n`sysctl -w net.inet.tcp.sack.enable=1`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0\n';
    const result = await runScript(script.replace('[65536]', '[1048576]'), { name: 'profile.pkt' });
    expect(result.failure).toBe(null); // FreeBSD reports the buffer as set, not doubled
    const profileLines = result.applied.filter((line) => line.includes('freebsd profile'));
    expect(profileLines).toHaveLength(1);
    expect(profileLines[0]).toContain(
      'tcp.socketBufferAccounting=freebsd, tcp.receiveWindow=buffer, tcp.repeatFinInAcks=true, tcp.oldSegmentAck=process, tcp.resetAfterCloseReported=true',
    );
    const linux = await runScript('`sysctl -q net.ipv4.tcp_sack=1`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', { name: 'linux.pkt' });
    expect(linux.applied.some((line) => line.includes('freebsd profile'))).toBe(false);
    expect(linux.applied.some((line) => line.includes('linux profile'))).toBe(true);
  });

  test('a value with no meaning is reported, not applied', () => {
    const outcome = mapShellCommand('sysctl -w net.inet.tcp.blackhole=3', true);
    expect(outcome.changes.closedPortReset).toBeUndefined();
    expect(outcome.unsupported).toHaveLength(1);
  });

  test("hostcache.purgenow forgets the path MTUs ICMP taught, ustack's only per-destination memory", () => {
    const stack = new Stack({ name: 'purge', seed: 1 });
    stack.addInterface({
      name: 'tun0',
      link: { name: 'l', medium: 'ip', mtu: 1500, transmit() {}, setReceiver() {}, pollAt: () => Infinity, poll() {} },
      address: '192.168.0.1/24',
    });
    stack.addRoute('0.0.0.0/0', { interfaceName: 'tun0' });
    const peer = parseIpv4Address('192.0.2.1')!;
    stack.ip.updatePathMtu(peer, 1200, 0);
    expect(stack.ip.mtuTo(peer)).toBe(1200);
    const outcome = mapShellCommand('sysctl -w net.inet.tcp.hostcache.purgenow=1', true);
    expect(outcome.actions).toHaveLength(1);
    expect(outcome.actions[0](stack)).toBe('forgot 1 learned path MTU(s)');
    expect(stack.ip.mtuTo(peer)).toBe(1500);
  });
});

describe('sockstat and tcpdrop', () => {
  function stackWithListener() {
    const stack = new Stack({ name: 'tools', seed: 1 });
    stack.addInterface({
      name: 'tun0',
      link: { name: 'l', medium: 'ip', mtu: 1500, transmit() {}, setReceiver() {}, pollAt: () => Infinity, poll() {} },
      address: '192.168.0.1/24',
    });
    stack.addRoute('0.0.0.0/0', { interfaceName: 'tun0' });
    const api = new BerkeleySockets(stack);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.bind(fd, { address: '0.0.0.0', port: 8080 });
    api.listen(fd, 1);
    api.socket(C.AF_INET, C.SOCK_DGRAM); // not TCP: never listed
    return { stack, api, context: { stack, api, command: 'packetdrill', pid: 4242 } };
  }

  test("sockstat lists the descriptors in sockstat's columns, the state with -s", () => {
    const { context } = stackWithListener();
    const listed = runFreeBsdTool('sockstat -4 -P tcp -s', context);
    expect(listed.kind).toBe('ran');
    if (listed.kind !== 'ran') return;
    const lines = listed.output.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^root +packetdril +4242 +3 +tcp4 +\*:8080 +\*:\* +LISTEN$/);
    const withoutState = runFreeBsdTool('sockstat -4 -P tcp', context);
    expect(withoutState.kind === 'ran' && withoutState.output.includes('LISTEN')).toBe(false);
  });

  test("grep stages count and select as in a shell; the exit status is the last one's", () => {
    const { context } = stackWithListener();
    expect(runFreeBsdTool('sockstat -4 -P tcp -s | grep -c LISTEN | grep 1', context)).toMatchObject({ exitStatus: 0, output: '1' });
    expect(runFreeBsdTool('sockstat -4 -P tcp -s | grep -c LISTEN | grep 0', context)).toMatchObject({ exitStatus: 1, output: '' });
    expect(runFreeBsdTool('sockstat -4 -P tcp -s -p 9999 | grep -c LISTEN', context)).toMatchObject({ exitStatus: 1, output: '0' });
    expect(runFreeBsdTool('sockstat -4 -P tcp -s | grep -v LISTEN | grep -c tcp4', context)).toMatchObject({ exitStatus: 1, output: '0' });
  });

  test('forms the runner does not answer are unsupported, with the command named', () => {
    const { context } = stackWithListener();
    expect(runFreeBsdTool('sockstat -u', context)).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('-u') });
    expect(runFreeBsdTool('sockstat -4 -P udp', context)).toMatchObject({ kind: 'unsupported' });
    expect(runFreeBsdTool('sockstat -4 -P tcp | wc -l', context)).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('wc -l') });
    expect(runFreeBsdTool('tcpdrop -l -a', context)).toMatchObject({ kind: 'unsupported' });
    expect(runFreeBsdTool('tcpdrop -s SYN_WAIT', context)).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('SYN_WAIT') });
  });

  test('a count that differs fails the script, as a command exiting non-zero does in packetdrill', async () => {
    const result = await run(`${LISTEN}+0 \`sockstat -4 -P tcp -s | grep packetdril | grep -c LISTEN | grep 2\`\n`);
    expect(result.passed).toBe(false);
    expect(result.failure?.line).toBe(5);
    expect(result.failure?.message).toContain('exited with status 1');
  });

  test('an unsupported tool line is a warning naming it, and the script goes on', async () => {
    const result = await run(`${LISTEN}+0 \`sockstat -u\`\n`);
    expect(result.passed).toBe(true);
    expect(result.warnings).toEqual([expect.stringMatching(/unsupported: sockstat -u/)]);
  });

  test("the tools see the stack at the line's own time", async () => {
    // The SYN-ACK is retransmitted at 1 s and the half-open connection given up after the
    // last retry; at 0.5 s it is still there.
    const result = await run(`${LISTEN}+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <...>
+.5 \`sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 1\`
+100 \`sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 0\`
`);
    expect(result.failure).toBeNull();
  });
});
