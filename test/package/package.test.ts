/**
 * The package as a user gets it: the project compiled and packed (`npm pack`), the tarball
 * installed into a new directory (`npm install ustack-*.tgz`, offline: ustack has no runtime
 * dependencies), and programs there that import only the entry points — the README's own
 * examples, type-checked under `strict` with Node's module resolution (which honours `exports`)
 * and run with node.
 *
 * The build goes to a scratch directory (tsc --outDir), never to the repository's dist/, which
 * other tests may be reading at the same time.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The environment for npm without what `npm test` exported about the repository's own package. */
function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

function run(command: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: npmEnvironment(), timeout });
  if (result.error) throw result.error;
  return result;
}

function mustRun(command: string, args: string[], cwd: string, timeout?: number): string {
  const result = run(command, args, cwd, timeout);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The README's ```ts blocks that start with `// NAME.ts: …`, by file name. */
function readmePrograms(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const programs = new Map<string, string>();
  for (const match of readme.matchAll(/```ts\n(\/\/ ([\w-]+\.ts):[^\n]*\n[\s\S]*?)```/g)) programs.set(match[2]!, match[1]!);
  return programs;
}

describe('the package: packed, installed into a new project, used through its entry points', () => {
  let scratch = '';
  let app = '';
  let tarball = '';
  let installOutput = '';

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ustack-package-'));
    // What `npm pack` takes from the repository (package.json `files`), with dist/ built afresh.
    const stage = join(scratch, 'stage');
    mkdirSync(stage);
    const files = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;
    for (const pattern of ['package.json', ...files.filter((pattern) => !pattern.startsWith('dist/'))]) {
      // A glob's folder is copied whole; npm pack applies the pattern itself.
      const name = pattern.includes('*') ? pattern.slice(0, pattern.indexOf('*')).replace(/\/[^/]*$/, '') : pattern;
      cpSync(join(root, name), join(stage, name), { recursive: true, filter: (source) => !source.startsWith(join(root, 'docs', 'api')) });
    }
    // The build of tsconfig.build.json, less bench/ (not in `files`).
    const buildConfig = join(scratch, 'tsconfig.json');
    writeFileSync(
      buildConfig,
      JSON.stringify({
        extends: join(root, 'tsconfig.build.json'),
        compilerOptions: { rootDir: root, outDir: join(stage, 'dist'), typeRoots: [join(root, 'node_modules', '@types')] },
        include: [join(root, 'src'), join(root, 'examples')],
      }),
    );
    mustRun(process.execPath, [tsc, '-p', buildConfig], root, 180_000);
    // --ignore-scripts: `prepare` would compile into the repository's dist/; the stage has its own.
    mustRun('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch], stage);
    tarball = join(
      scratch,
      readdirSync(scratch).find((name) => name.endsWith('.tgz'))!,
    );

    app = join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // The install script builds the TUN/TAP addon, or says in one line that it cannot and goes on.
    installOutput = mustRun('npm', ['install', '--offline', '--foreground-scripts', tarball], app, 180_000);
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the entry points with their types, the README and docs/*.md, and no tests, fixtures or API pages', () => {
    const listing = mustRun('tar', ['tzf', tarball], scratch).split('\n').filter(Boolean);
    for (const entry of ['index', 'net', 'dgram', 'socket', 'wire', 'replay']) {
      expect(listing).toContain(`package/dist/src/${entry}.js`);
      expect(listing).toContain(`package/dist/src/${entry}.d.ts`);
    }
    expect(listing).toContain('package/README.md');
    expect(listing).toContain('package/LICENSE');
    for (const doc of readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'))) expect(listing).toContain(`package/docs/${doc}`);
    expect(listing).toContain('package/docs/architecture.md');
    expect(listing).toContain('package/dist/src/cli/main.js');
    expect(listing.filter((path) => /^package\/(test|captures|bench|dist\/test|dist\/bench|docs\/api)\//.test(path))).toEqual([]);
    expect(listing.filter((path) => /\.(pcap|pcapng|pkt)$/.test(path))).toEqual([]);
    // The same `files` applied to the repository itself, test/ and captures/ and all.
    const [packed] = JSON.parse(mustRun('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root)) as [{ files: { path: string }[] }];
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain('docs/architecture.md');
    expect(
      paths.filter(
        (path) =>
          !/^(dist\/(src|examples)\/|docs\/[\w-]+\.md$|native\/(binding\.gyp|tun\.c|preload\.c|build\.mjs)$|examples\/python\/\w+\.py$|README\.md$|LICENSE$|package\.json$)/.test(
            path,
          ),
      ),
    ).toEqual([]);
  });

  it('installs offline from the tarball, the addon built or skipped in one line', () => {
    expect(installOutput).toMatch(/ustack: (built the TUN\/TAP addon|TUN\/TAP addon not built)/);
    expect(existsSync(join(app, 'node_modules', 'ustack', 'dist', 'src', 'index.js'))).toBe(true);
  });

  it("type-checks the README's programs under strict and runs them: net on a virtual network, Berkeley UDP into a pcap", () => {
    const programs = readmePrograms();
    expect([...programs.keys()]).toEqual(expect.arrayContaining(['hello-net.ts', 'udp-pcap.ts', 'tun-echo.ts']));
    for (const [name, text] of programs) writeFileSync(join(app, name), text);
    // Every entry point, from a program of ours (the README's use three of them).
    writeFileSync(
      join(app, 'entry-points.ts'),
      [
        "import { Stack, ErrnoError } from 'ustack';",
        "import { createDgram } from 'ustack/dgram';",
        "import { createNet } from 'ustack/net';",
        "import { BerkeleySockets, SOCK_STREAM } from 'ustack/socket';",
        "import { parseUdp, UdpPacket, emitUdp, udpLength, type UdpRepr } from 'ustack/wire';",
        '',
        'const stack = new Stack();',
        "const socket = createDgram(stack).createSocket('udp4');",
        'socket.close();',
        'const net: typeof stack.net = createNet(stack);',
        "console.log(typeof net.createServer, new BerkeleySockets(stack).socket(2, SOCK_STREAM), new ErrnoError('EPIPE', 'send').code);",
        'const repr: UdpRepr = { sourcePort: 1, destinationPort: 2, payload: new Uint8Array([7]) };',
        'const out = new Uint8Array(udpLength(repr));',
        'const pseudo = { source: 0x0a000001, destination: 0x0a000002 };',
        'emitUdp(repr, out, pseudo);',
        'const packet = UdpPacket.checked(out);',
        'const parsed = packet.ok ? parseUdp(packet.value, pseudo) : packet;',
        'console.log(parsed.ok && parsed.value.destinationPort);',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          outDir: 'out',
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          skipLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );
    mustRun(process.execPath, [tsc, '-p', '.'], app);

    expect(mustRun(process.execPath, ['out/entry-points.js'], app)).toBe('function 3 EPIPE\n2\n');
    expect(mustRun(process.execPath, ['out/hello-net.js'], app)).toMatch(/^echoed "hello" at \d+ ms\nclient sent \d+ segments\n$/);

    const udp = mustRun(process.execPath, ['out/udp-pcap.js'], app).split('\n');
    expect(udp[0]).toBe('reply HELLO from 10.0.0.2:15000');
    expect(
      udp.filter((line) => /^Frame \d: 33 bytes \/ Internet Protocol Version 4, .* \/ User Datagram Protocol, .* \/ Data \(5 bytes\)$/.test(line)),
    ).toHaveLength(2);
    const pcap = readFileSync(join(app, 'udp.pcap'));
    expect(pcap.readUInt32LE(0).toString(16)).toMatch(/^a1b2(c3d4|3c4d)$/);
  });

  it('keeps everything else internal: a deep import fails with ERR_PACKAGE_PATH_NOT_EXPORTED', () => {
    const deep = run(process.execPath, ['--input-type=module', '-e', "await import('ustack/dist/src/tcp/connection.js')"], app);
    expect(deep.status).not.toBe(0);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    const entries = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "for (const e of ['ustack', 'ustack/net', 'ustack/dgram', 'ustack/socket', 'ustack/wire', 'ustack/replay']) console.log(e, Object.keys(await import(e)).length > 0)",
      ],
      app,
    );
    expect(entries.stdout).toBe('ustack true\nustack/net true\nustack/dgram true\nustack/socket true\nustack/wire true\nustack/replay true\n');
  });
});
