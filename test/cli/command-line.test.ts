/**
 * The `ustack` command behaves like its neighbours: --version, `help COMMAND` and `COMMAND --help`
 * (which run nothing), one line naming the option and what it takes for every mistake on the
 * command line (exit 2, before any device is touched, so no root is needed here), a closed stdout
 * ending the command quietly, and files written where the user asked — never into ./captures of
 * the current directory. The built CLI is run as a user runs it: `node dist/src/cli/main.js`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const scratch = mkdtempSync(join(tmpdir(), 'ustack-cli-'));
/** The current directory of every run (it must stay empty) and the OS temp dir the CLI sees. */
const cwd = join(scratch, 'cwd');
const temp = join(scratch, 'tmp');

beforeAll(() => {
  // The CLI as built from these sources (compiles only what changed).
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  for (const dir of [cwd, temp]) spawnSync('mkdir', ['-p', dir]);
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ustack(...args: string[]): Run {
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: temp, USTACK_DEBUG: '' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A usage error: exit 2, nothing on stdout, one line on stderr, no stack trace, no parseArgs or ip text. */
function expectUsageError(run: Run, pattern: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/ERR_PARSE_ARGS|TypeError|^\s+at |Command failed|Error:/m);
}

describe('ustack --version and help', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = ustack('--version');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`ustack ${version}\n`);
  });

  it('--help and help list the commands; no command at all is a usage error', () => {
    for (const words of [['--help'], ['help']]) {
      const run = ustack(...words);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^usage: ustack <command>/);
    }
    expect(ustack().code).toBe(2);
  });

  it.each(['demo', 'dissect', 'example', 'drill', 'pcap2drill', 'view', 'up', 'ping', 'nc'])(
    'help %s and %s --help print its help and run nothing',
    (command) => {
      const viaHelp = ustack('help', command);
      const viaFlag = ustack(command, '--help');
      for (const run of [viaHelp, viaFlag]) {
        expect(run.code).toBe(0);
        expect(run.stderr).toBe('');
        expect(run.stdout).toMatch(new RegExp(`^usage: ustack ${command}`));
      }
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      // Nothing ran: the demo wrote no capture, no device command printed its banner.
      expect(existsSync(join(temp, 'ustack'))).toBe(false);
      expect(viaFlag.stdout).not.toMatch(/ustack up: tun|PING /);
    },
  );

  it('--help wins over mistakes around it', () => {
    expect(ustack('up', '--bogus', '--help').code).toBe(0);
    expect(ustack('nc', '-h').stdout).toMatch(/^usage: ustack nc/);
  });

  it('an unknown command or help topic is one line, exit 2', () => {
    expectUsageError(ustack('frobnicate'), /^ustack: unknown command 'frobnicate'/);
    expectUsageError(ustack('--frobnicate'), /^ustack: unknown option --frobnicate/);
    expectUsageError(ustack('help', 'frobnicate'), /^ustack help: COMMAND takes one of demo, .*not 'frobnicate'/);
  });
});

describe('every option checked before anything is set up: one line naming it, exit 2', () => {
  it.each([
    [['up', '--for', 'abc'], /^ustack up: --for takes SECONDS, not 'abc'$/],
    [['up', '--txqueuelen', 'lots'], /^ustack up: --txqueuelen takes a number of packets N \(1 or more\), not 'lots'$/],
    [['up', '--mtu', '40'], /^ustack up: --mtu takes N from 68 to 65535, not '40'$/],
    [['up', '--tun', 'a-name-far-too-long'], /^ustack up: --tun takes a device NAME \(up to 15 bytes\)/],
    [['up', '--netns', 'a b'], /^ustack up: --netns takes a namespace NAME/],
    [['up', '--addr', '10.7.0.2/33'], /^ustack up: --addr takes a CIDR like 10\.7\.0\.2\/24, not '10\.7\.0\.2\/33'$/],
    [['up', '--addr', '10.9.0.2/24'], /^ustack up: --addr 10\.9\.0\.2\/24 is not on the host's network 10\.7\.0\.1\/24/],
    [['up', '--tun', 'a', '--tap', 'b'], /^ustack up: give --tun or --tap, not both$/],
    [['up', '--loss', '200'], /^ustack up: --loss takes a PERCENT from 0 to 100, not '200'$/],
    [['up', '--serve', 'echo,ftp'], /^ustack up: --serve takes service names, .* not 'ftp'$/],
    [['up', '--stats'], /^ustack up: --stats takes SECONDS \(0 for none\)$/],
    [['up', '--trace=yes'], /^ustack up: --trace takes no value \(given 'yes'\)$/],
    [['up', 'extra'], /^ustack up: unexpected argument 'extra'/],
    [['ping', '-c', 'x', '10.7.0.1'], /^ustack ping: -c takes a COUNT \(1 or more\), not 'x'$/],
    [['ping', '-s', '70000', '10.7.0.1'], /^ustack ping: -s takes a SIZE in bytes \(0 to 65507\), not '70000'$/],
    [['ping', 'example.com'], /^ustack ping: HOST takes an IPv4 address, not 'example\.com'/],
    [['ping'], /^ustack ping: which HOST\?/],
    [['nc', '-w', 'soon', '10.7.0.1', '5000'], /^ustack nc: -w takes SECONDS, not 'soon'$/],
    [['nc', '10.7.0.1', '99999'], /^ustack nc: PORT takes a number from 1 to 65535, not '99999'$/],
    [['nc', '-z', '10.7.0.1', '20-30'], /^ustack nc: PORT takes .* \(no port ranges\)$/],
    [['nc', '10.7.0.1'], /^ustack nc: give HOST PORT/],
    [['example', 'kv', '--seed', 'abc'], /^ustack example: --seed takes an integer N \(0 to 4294967295\), not 'abc'$/],
    [['example', 'nope'], /^ustack example: NAME takes one of echo, tcp-upper, udp-upper, kv, gateway, not 'nope'$/],
    [['example', 'echo', '--netns', 'x'], /^ustack example: --netns is for a TUN device: give --tun DEVICE too$/],
    [['example', 'echo', '--tun', 'u0', '--faults'], /^ustack example: --faults is for the virtual network, not with --tun$/],
    [['example', 'echo', '--tun', 'u0', '--for', 'abc'], /^ustack example: --for takes SECONDS, not 'abc'$/],
    [['drill', '--mtu=abc', 'x.pkt'], /^ustack drill: --mtu takes =N, a number, not 'abc'$/],
    [['drill', '--corpus', join(scratch, 'none')], /^ustack drill: --corpus takes a DIR of \.pkt scripts/],
    [['drill'], /^ustack drill: which scripts\?/],
    [['demo', '--pcap'], /^ustack demo: --pcap takes a FILE to write$/],
    [['dissect'], /^ustack dissect: which capture FILE\?/],
    [['pcap2drill', 'x.pcap'], /^ustack pcap2drill: --host ADDR is needed/],
    [['pcap2drill', 'x.pcap', '--host', '10.0.0'], /^ustack pcap2drill: --host takes an IPv4 or IPv6 ADDR \(a\.b\.c\.d, fd00::2\), not '10\.0\.0'$/],
    [
      ['pcap2drill', 'x.pcap', '--host', '10.0.0.1', '--conversation', '0'],
      /^ustack pcap2drill: --conversation takes N \(a conversation number, 1 or more\), not '0'$/,
    ],
  ])('%j', (args, pattern) => {
    expectUsageError(ustack(...args), pattern);
  });

  it.each(['demo', 'dissect', 'example', 'drill', 'pcap2drill', 'view', 'up', 'ping', 'nc'])('an unknown option on %s', (command) => {
    const args = command === 'example' ? [command, 'kv', '--bogus'] : [command, '--bogus', 'x'];
    expectUsageError(ustack(...args), new RegExp(`^ustack ${command}: unknown option --bogus \\(\`ustack ${command} --help\` lists the options\\)$`));
  });
});

describe('ustack nc takes OpenBSD nc habits, or says which it does not', () => {
  it.each([
    ['-k', /^ustack nc: -k: OpenBSD nc keeps listening/],
    ['-U', /^ustack nc: -U: Unix-domain sockets/],
    ['-X', /^ustack nc: -X: proxies are not supported$/],
  ])('%s is refused by name', (flag, pattern) => {
    expectUsageError(ustack('nc', flag, '10.7.0.1', '5000'), pattern);
  });

  it('-z is for a TCP client; -l -p PORT and -l PORT both listen', () => {
    expectUsageError(ustack('nc', '-zu', '10.7.0.1', '5000'), /^ustack nc: -z .* not with -u$/);
    expectUsageError(ustack('nc', '-l', '-z', '5000'), /^ustack nc: -z .* not with -l$/);
    expectUsageError(ustack('nc', '-l', '-p', '5000', '10.7.0.1', '5001'), /^ustack nc: -l -p PORT takes no HOST PORT/);
    // -N -n -4 -v -w -q are taken (the device setup is then what fails: a bad --tun name here).
    expectUsageError(ustack('nc', '-Nnv4', '-w', '1', '-q', '0', '--tun', 'bad/name', '10.7.0.1', '5000'), /^ustack nc: --tun takes a device NAME/);
  });

  it('the help names the flags it takes and the ones it does not', () => {
    const help = ustack('nc', '--help').stdout;
    for (const flag of ['-N', '-z', '-v', '-w SECS', '-q SECS', '-p PORT', '-s ADDR']) expect(help).toContain(`  ${flag}`);
    expect(help).toMatch(/not supported: .*-k .*-U /);
    expect(help).toContain('  -6  ');
    expect(help).not.toMatch(/not supported: .*-6/);
  });

  it('-6 takes an IPv6 HOST and needs --addr6 on the device; -4 an IPv4 one; never both', () => {
    expectUsageError(ustack('nc', '-6', '10.7.0.1', '5000'), /^ustack nc: HOST takes an IPv6 address, not '10\.7\.0\.1' \(there is no DNS client\)$/);
    expectUsageError(ustack('nc', '-4', 'fd00:7::1', '5000'), /^ustack nc: HOST takes an IPv4 address, not 'fd00:7::1'/);
    expectUsageError(ustack('nc', 'example.com', '5000'), /^ustack nc: HOST takes an IPv4 or IPv6 address, not 'example\.com'/);
    expectUsageError(ustack('nc', '-4', '-6', 'fd00:7::1', '5000'), /^ustack nc: -4 and -6 exclude each other$/);
    expectUsageError(ustack('nc', '-6', 'fd00:7::1', '5000'), /^ustack nc: -6 \(an IPv6 HOST\) needs an IPv6 address on the device: give --addr6/);
    expectUsageError(ustack('nc', 'fd00:7::1', '5000'), /^ustack nc: -6 \(an IPv6 HOST\) needs an IPv6 address on the device/);
    expectUsageError(
      ustack('nc', '-s', '10.7.0.2', '--addr6', 'fd00:7::2/64', 'fd00:7::1', '5000'),
      /^ustack nc: -s 10\.7\.0\.2 is not of HOST's address family$/,
    );
    expectUsageError(ustack('nc', '-l', '-6', '--addr6', 'fd00:7::2/64', '10.7.0.2', '5000'), /^ustack nc: HOST takes an IPv6 address, not '10\.7\.0\.2'/);
    // Taken: the device setup is what fails next (a bad --tun name).
    expectUsageError(ustack('nc', '-6', '--addr6', 'fd00:7::2/64', '--tun', 'bad/name', 'fd00:7::1', '5000'), /^ustack nc: --tun takes a device NAME/);
  });
});

describe('a closed stdout ends the command quietly, as it does cat', () => {
  it.each([['example', 'kv'], ['demo', '--pcap', join(scratch, 'closed.pcap')], ['--help']])('%j: exit 141, nothing on stderr', async (...args) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, TMPDIR: temp }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader has gone before the first line
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });
});

describe('files go where the user asked', () => {
  it('the demo writes --pcap FILE and says so; by default ustack/demo.pcap in the OS temp dir', () => {
    const chosen = join(scratch, 'mine.pcap');
    const run = ustack('demo', '--pcap', chosen);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`6. Capture: ${chosen} (43 frames, Ethernet`);
    expect(existsSync(chosen)).toBe(true);
    // And the page of it beside it (ustack view).
    expect(run.stdout).toContain(`or in a browser: ${join(scratch, 'mine.html')}`);
    expect(readFileSync(join(scratch, 'mine.html'), 'utf8')).toMatch(/^<!doctype html>/);

    const plain = ustack('demo');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`6. Capture: ${join(temp, 'ustack', 'demo.pcap')}`);
    expect(existsSync(join(temp, 'ustack', 'demo.pcap'))).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a capture that cannot be written is one line, exit 1', () => {
    writeFileSync(join(scratch, 'a-file'), '');
    const run = ustack('demo', '--pcap', join(scratch, 'a-file', 'x.pcap'));
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^ustack demo: /);
  });

  it('drill puts the pcap of a failed run in --out DIR, by default in ustack-drill in the OS temp dir', () => {
    // We never send this SYN-ACK: the script fails at its last line.
    const script = join(scratch, 'fails.pkt');
    writeFileSync(
      script,
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', '+0 bind(3, ..., ...) = 0', '+0 listen(3, 1) = 0', '+0 > S. 0:0(0) ack 1 <mss 1460>', ''].join('\n'),
    );
    const out = join(scratch, 'pcaps');
    const chosen = ustack('drill', '--out', out, script);
    expect(chosen.code).toBe(1);
    expect(chosen.stdout).toContain(`pcap: ${join(out, 'drill-fails.pcap')}`);
    expect(existsSync(join(out, 'drill-fails.pcap'))).toBe(true);

    const plain = ustack('drill', script);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain(`pcap: ${join(temp, 'ustack-drill', 'drill-fails.pcap')}`);
    expect(existsSync(join(temp, 'ustack-drill', 'drill-fails.pcap'))).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
