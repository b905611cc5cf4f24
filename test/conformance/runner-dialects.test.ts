/**
 * The dialects of the public corpora (Google's gtests/net and nplab's FreeBSD suite), as the
 * runner understands them: conditionals, multi-line backticks, script files next to a .pkt,
 * `%{ }%` blocks over TCP_INFO, structs and arrays in calls, descriptor names, epoll, and the
 * UNSUPPORTED verdict. Each test can fail: the wrong variant is checked too.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runDrill } from '../../src/drill/drill-command.js';
import { parseScript } from '../../src/drill/parser.js';
import { runScript } from '../../src/drill/runner.js';
import { expandCommand, expandShellWords } from '../../src/drill/shell-scripts.js';

const LISTEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`;
const ESTABLISHED = `\`sysctl -q net.ipv4.tcp_ecn=0\`
${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
`;

async function run(source: string, options: { defines?: string[]; directory?: string } = {}) {
  return runScript(source, { name: 'inline.pkt', ...options });
}

describe('nplab conditionals', () => {
  const script = `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000>
#ifdef STANDARD
+0 > S. 0:0(0) ack 1 <mss 1460>
#else
+0 > R. 0:0(0) ack 1
#endif
#ifndef STANDARD
+0 > F 0:0(0)
#endif
`;
  test('#ifdef STANDARD is taken by default, its #else and an #ifndef are not', async () => {
    expect((await run(script)).passed).toBe(true);
  });
  test('-D FreeBSD replaces STANDARD: the other branches run (and here fail)', async () => {
    const result = await run(script, { defines: ['FreeBSD'] });
    expect(result.failure?.line).toBe(9);
  });
  test('an unbalanced #ifdef is a syntax error naming its line', () => {
    expect(() => parseScript('#ifdef STANDARD\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n')).toThrow(/line 1: #ifdef without #endif/);
    expect(() => parseScript('#endif\n')).toThrow(/line 1/);
  });
});

describe('statements over several lines', () => {
  test('a backtick command keeps its lines; a code block keeps its indentation', () => {
    const script = parseScript('`sysctl -q a=1\n  sysctl -q b=2\n`\n0 %{\nif True:\n    x = 1\n}%\n');
    expect(script.events[0]).toMatchObject({ kind: 'shell', command: 'sysctl -q a=1\n  sysctl -q b=2', line: 1 });
    expect(script.events[1]).toMatchObject({ kind: 'code', code: '\nif True:\n    x = 1\n', line: 4 });
  });
  test("'//' inside a code block is Python's, not a comment", () => {
    const script = parseScript('0 %{ assert 7 // 2 == 3 }%\n');
    expect(script.events[0]).toMatchObject({ kind: 'code', code: 'assert 7 // 2 == 3' });
  });
  test('structs with sized fields and positional iovecs', () => {
    const script = parseScript('0 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 10}, {..., 20}], msg_flags=0}, 0) = 30\n');
    const event = script.events[0];
    expect(event.kind === 'syscall' && event.args[1]).toMatchObject({
      kind: 'struct',
      fields: [
        { name: 'msg_name', value: { kind: 'elided' } },
        {
          name: 'msg_iov',
          value: {
            kind: 'array',
            items: [{ kind: 'struct', fields: [{ name: '#0' }, { name: '#1', value: { kind: 'number', value: 10 } }] }, { kind: 'struct' }],
          },
        },
        { name: 'msg_flags', value: { kind: 'number', value: 0 } },
      ],
    });
  });
  test('the end time after ... counts from the base its start counts from, as packetdrill', () => {
    const [relative, absolute] = parseScript('+.1...0.2 accept(3, ..., ...) = 4\n0.1...0.2 accept(3, ..., ...) = 4\n').events;
    expect(relative.kind === 'syscall' && relative.end).toEqual({ relative: true, seconds: 0.2 });
    expect(absolute.kind === 'syscall' && absolute.end).toEqual({ relative: false, seconds: 0.2 });
  });
});

describe('script files next to the .pkt and shell words', () => {
  test('$((arithmetic)), $PPID and redirections', () => {
    expect(expandShellWords('sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))" > /dev/null 2>&1')).toBe(
      'sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640"',
    );
    expect(expandShellWords('/tmp/sysctl_restore_${PPID}.sh')).toBe('/tmp/sysctl_restore_drill.sh');
  });
  test('a .sh file is read and its sysctls applied; set_sysctls.py sets and its restore script undoes', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ustack-dialect-'));
    mkdirSync(join(folder, 'common'));
    mkdirSync(join(folder, 'tests'));
    writeFileSync(
      join(folder, 'common', 'defaults.sh'),
      '#!/bin/bash\n# comment\nsysctl -q net.ipv4.tcp_rmem="4096 87380 $((4*1024*1024))"\nsysctl -q net.ipv4.tcp_ecn=0\n',
    );
    const expanded = expandCommand('../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0', join(folder, 'tests'));
    expect(expanded.commands.map((c) => c.text)).toEqual([
      'sysctl -q net.ipv4.tcp_rmem="4096 87380 4194304"',
      'sysctl -q net.ipv4.tcp_ecn=0',
      'echo "0" > /proc/sys/net/ipv4/tcp_timestamps',
    ]);
    expect(expanded.commands.map((c) => c.fromHelper)).toEqual([false, false, true]);
    // tcp_rmem's maximum (4 MiB) sets the window scale offered: 7; timestamps are off until
    // the restore script turns them back on, so the second SYN carries them again.
    const script = `\`../common/defaults.sh
../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,nop,nop,nop,wscale 7>
\`/tmp/sysctl_restore_\${PPID}.sh\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 fcntl(5, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>
`;
    const result = await run(script, { directory: join(folder, 'tests') });
    expect(result.failure).toBe(null);
    expect(result.applied.some((line) => line.includes('defaults.sh → read, not run'))).toBe(true);
    expect(result.applied.some((line) => line.includes('linux profile'))).toBe(true);
    // Without the file next to the script the command is reported, not ignored.
    const missing = await run(script, { directory: tmpdir() });
    expect(missing.warnings.some((w) => w.includes('../common/defaults.sh'))).toBe(true);
  });
});

describe('%{ }% blocks over TCP_INFO', () => {
  test('an assertion over real TCP_INFO passes, a false one fails on its own line', async () => {
    const passing = await run(`${ESTABLISHED}+0 %{ assert tcpi_state == TCP_ESTABLISHED and tcpi_snd_mss == 1000, tcpi_snd_mss }%\n`);
    expect(passing.failure).toBe(null);
    const failing = await run(`${ESTABLISHED}+0 %{ assert tcpi_snd_mss == 1001, tcpi_snd_mss }%\n+0 write(4, ..., 10) = 10\n`);
    expect(failing.failure?.line).toBe(10);
    expect(failing.failure?.message).toBe('assertion failed: 1000');
  });
  test('the blocks are one program: a name one defines is there for the next', async () => {
    const script = `${ESTABLISHED}+0 %{ LIMIT = 0x7fffffff }%\n+0 %{ assert tcpi_snd_ssthresh == LIMIT, tcpi_snd_ssthresh }%\n`;
    expect((await run(script)).failure).toBe(null);
  });
  test('FreeBSD-style state names mean the same states', async () => {
    expect((await run(`${ESTABLISHED}+0 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n`)).passed).toBe(true);
  });
});

describe('calls of the corpora', () => {
  test('descriptor numbers are names: a script may call its first socket 7', async () => {
    const script = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 7
+0 setsockopt(7, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(7, ..., ...) = 0
+0 listen(7, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(7, ..., ...) = 9
+0 write(9, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`;
    expect((await run(script)).failure).toBe(null);
  });
  test('sendmsg sends its iovecs; NULL buffers fail with EFAULT', async () => {
    const script = `${ESTABLISHED}+0 sendmsg(4, {msg_name(...)=..., msg_iov(3)=[{..., 0}, {..., 30}, {..., 20}], msg_flags=0}, 0) = 50
+0 > P. 1:51(50) ack 1
+0 write(4, NULL, 10) = -1 EFAULT (Bad address)
+0 < P. 1:11(10) ack 51 win 65535
+0 read(4, NULL, 10) = -1 EFAULT (Bad address)
+0 read(4, ..., 10) = 10
`;
    expect((await run(script)).failure).toBe(null);
  });
  test('recvmsg reports TCP_CM_INQ when TCP_INQ is on', async () => {
    const script = `${ESTABLISHED}+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 < P. 1:101(100) ack 1 win 65535
+0 recvmsg(4, {msg_iov(1)=[{..., 60}], msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=40}], msg_flags=0}, 0) = 60
`;
    expect((await run(script)).failure).toBe(null);
    const wrong = await run(script.replace('cmsg_data=40', 'cmsg_data=41'));
    expect(wrong.failure?.message).toContain('TCP_CM_INQ 40, expected 41');
  });
  test('epoll: an edge-triggered entry reports once per wakeup, with everything ready', async () => {
    const script = `${ESTABLISHED}+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT|EPOLLET, fd=4}) = 0
+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 < P. 1:101(100) ack 1 win 65535
+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
`;
    expect((await run(script)).failure).toBe(null);
    // Level-triggered, the same entry is reported again.
    const level = await run(script.replace('|EPOLLET', ''));
    expect(level.failure?.line).toBe(13);
  });
});

describe('IP header fields on packet lines', () => {
  test('(tos 0xNN) and (ttl N) pin the TOS octet and TTL both ways; [ect0] stays the ECN field', async () => {
    const script = `${ESTABLISHED}+0 setsockopt(4, SOL_IP, IP_TOS, [0x20], 4) = 0
+0 setsockopt(4, SOL_IP, IP_TTL, [7], 4) = 0
+0 < (tos 0x28) P. 1:11(10) ack 1 win 65535
+0 > (tos 0x20) . 1:1(0) ack 11
+0 write(4, ..., 10) = 10
+0 > (ttl 7) P. 1:11(10) ack 11
`;
    expect((await run(script)).failure).toBe(null);
    expect((await run(script.replace('> (tos 0x20)', '> (tos 0x24)'))).failure?.message).toContain('IP TOS 0x20, expected 0x24');
    expect((await run(script.replace('> (ttl 7)', '> (ttl 8)'))).failure?.message).toContain('IP TTL 7, expected 8');
  });
});

describe('UNSUPPORTED, and only for the named features', () => {
  test('TCP Fast Open and sendfile end UNSUPPORTED with the feature', async () => {
    expect((await run(`${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000,FO abcd1234>\n`)).unsupported).toBe('TCP Fast Open');
    expect((await run(`${ESTABLISHED}+0 sendfile(4, 5, [0], 10) = 10\n`)).unsupported).toBe('sendfile');
  });
  test('a failure before the feature is reached stays a failure', async () => {
    const result = await run(`${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000>\n+0 > R 0:0(0)\n+0 send(3, ..., 10, MSG_FASTOPEN) = 10\n`);
    expect(result.passed).toBe(false);
    expect(result.unsupported).toBe(null);
  });
  test('--corpus prints one line per script, a table per folder and the three counts', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ustack-corpus-'));
    mkdirSync(join(folder, 'a'));
    mkdirSync(join(folder, 'b'));
    writeFileSync(join(folder, 'a', 'pass.pkt'), LISTEN);
    writeFileSync(join(folder, 'a', 'fail.pkt'), `${LISTEN}+0 close(3) = -1 EBADF (Bad file descriptor)\n`);
    writeFileSync(join(folder, 'b', 'fo.pkt'), `${LISTEN}+0 < S 0:0(0) win 65535 <mss 1000,FO abcd1234>\n`);
    const lines: string[] = [];
    const code = await runDrill([`--pcap_dir=${join(folder, 'pcaps')}`, '--corpus', folder], (l) => lines.push(l));
    expect(code).toBe(1);
    expect(lines).toContain('PASS a/pass.pkt');
    expect(lines.find((l) => l.startsWith('FAIL a/fail.pkt: line 5:'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('UNSUPPORTED b/fo.pkt: TCP Fast Open'))).toBeDefined();
    expect(lines).toContain('| a | 1 | 1 | 0 |');
    expect(lines).toContain('| b | 0 | 0 | 1 |');
    expect(lines.at(-1)).toBe('1 passed, 1 failed, 1 unsupported');
  });
});
