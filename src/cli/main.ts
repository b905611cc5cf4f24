#!/usr/bin/env node
/**
 * The `ustack` command. Subcommands:
 *   ustack demo                      the `npm start` demo on a virtual network (no root)
 *   ustack dissect FILE|- [-c N] [-Y FILTER] [--json]   each frame of a pcap, layer by layer (or tshark-style JSON)
 *   ustack drill SCRIPT.pkt...       run packetdrill scripts against ustack in virtual time
 *   ustack pcap2drill FILE --host ADDR   one TCP conversation of a capture as a packetdrill script
 *   ustack replay FILE --host ADDR   replay a capture into ustack and list how ustack differs from the host
 *   ustack view FILE [-o FILE.html]  a capture as one self-contained HTML page: layers, bytes, TCP diagrams
 *   ustack up [options]              ustack on a real TUN/TAP device until Ctrl-C (root)
 *   ustack ping [options] HOST       ping from ustack over a TUN/TAP device (root)
 *   ustack nc [options] [-l] [-u] HOST PORT   netcat over ustack on a TUN/TAP device (root)
 *   ustack run [options] -- PROGRAM  an unmodified program's IPv4 sockets on ustack (LD_PRELOAD)
 *   ustack net start|stop NAME       a named virtual network for `ustack run --net NAME`
 *
 * As its neighbours do: `--version`; `ustack help COMMAND` and `COMMAND --help` print the
 * command's help and run nothing; a mistake on the command line is one line on stderr naming the
 * option and what it takes, exit status 2, checked before anything is set up; a stdout closed
 * early (`| head`) ends the command quietly with status 141, as SIGPIPE ends `cat`; no stack
 * trace is printed (USTACK_DEBUG=1 shows one). Each command's code is loaded only when it runs,
 * so that `ustack --version` and `--help` start fast.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './arguments.js';

const usage = `usage: ustack <command> [arguments]

commands:
  demo [--pcap FILE]         two stacks on a virtual Ethernet wire: ARP, UDP upper-casing, ping, a traced
                             datagram, TCP frame by frame; writes a capture (default ustack/demo.pcap
                             in the OS temp dir; no root)
  dissect FILE|- [-c N] [-Y FILTER] [--json]
                             print every frame of a pcap/pcapng file (- for stdin) layer by layer,
                             with the byte range of each header; -Y keeps the frames a display
                             filter matches; --json prints tshark-style fields, one frame a line
                             (\`ustack dissect --help\`)
  example NAME [--faults] [--seed N] [--tun DEVICE]
                             a seed program (echo, tcp-upper, udp-upper, kv, gateway): both ends on
                             the virtual network, or the server on a TUN device (\`ustack example\`)
  drill [--linux] [--tolerance_usecs=N] [--out DIR] SCRIPT.pkt...
                             run packetdrill scripts against ustack in virtual time; pcaps of failed
                             runs go to --out (default ustack-drill in the OS temp dir; docs/drill.md)
  pcap2drill FILE --host ADDR [--conversation N]
                             one TCP conversation of a capture as a packetdrill script for drill,
                             ADDR's side as the stack under test (\`ustack pcap2drill --help\`)
  replay FILE --host ADDR [--linux] [--strict] [--json]
                             play what reached ADDR in a capture into ustack in virtual time and
                             list where ustack's answers differ from ADDR's; exit 0 when none
                             (\`ustack replay --help\`)
  view FILE [-o FILE.html]   a capture as one HTML page that works offline: frames, layers as nested
                             boxes over the bytes, checksums, TCP ladder and time–sequence graph,
                             fragments (\`ustack view --help\`)
  up [--tun NAME|--tap NAME] [--addr CIDR] [--host-addr ADDR] [--netns NS]
     [--serve echo,upper,kv,gateway,http] [--pcap FILE] [--trace]
                             ustack on a real TUN (or TAP) device, answering ping and serving the
                             seed programs, until Ctrl-C; needs root (\`ustack up --help\`)
  ping [device options] HOST [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT]
                             ping from ustack (a raw ICMP socket) over the same device setup as up;
                             iputils-style output and summary (\`ustack ping --help\`)
  nc [device options] [-lNuvz] [-w SECS] [-q SECS] [--progress] HOST PORT
                             netcat over ustack: stdin to the socket, the socket to stdout; -l
                             listens, -u for UDP; OpenBSD nc's flags; a progress line for files
                             (\`ustack nc --help\`)
  run [--net NAME --addr CIDR] [--tun NAME] [--trace] [--pcap FILE] [--faults SPEC] -- PROGRAM [ARGS...]
                             an unmodified Linux program with its IPv4 sockets on ustack (LD_PRELOAD;
                             \`ustack run --help\`, docs/run.md)
  net start|stop NAME        a named virtual network that \`ustack run --net NAME\` hosts join
  help [COMMAND]             this text, or COMMAND's help (as \`ustack COMMAND --help\`)

options: --version, --help
`;

type Print = (line: string) => void;

/** Set once stdout is closed under us: commands that hold a device stop through this (as Ctrl-C). */
const stdoutClosed = new AbortController();

/** Each command, loaded when it runs. `holdsDevice`: it must undo a device setup before exiting. */
const COMMANDS: Record<string, { readonly run: (args: string[], print: Print) => Promise<number>; readonly holdsDevice?: boolean }> = {
  demo: { run: async (args, print) => (await import('../../examples/demo.js')).runDemoCommand(args, print) },
  dissect: { run: async (args, print) => (await import('./dissect-command.js')).runDissect(args, print) },
  example: {
    run: async (args, print) => (await import('../../examples/run-example.js')).runExample(args, print, { signal: stdoutClosed.signal }),
    holdsDevice: true,
  },
  drill: { run: async (args, print) => (await import('../drill/drill-command.js')).runDrill(args, print) },
  pcap2drill: { run: async (args, print) => (await import('../drill/pcap2drill-command.js')).runPcap2drill(args, print) },
  replay: { run: async (args, print) => (await import('../replay/replay-command.js')).runReplay(args, print) },
  view: { run: async (args, print) => (await import('../view/view-command.js')).runView(args, print) },
  up: { run: async (args, print) => (await import('./up-command.js')).runUp(args, print, { signal: stdoutClosed.signal }), holdsDevice: true },
  ping: { run: async (args, print) => (await import('./ping-command.js')).runPing(args, print, { signal: stdoutClosed.signal }), holdsDevice: true },
  nc: { run: async (args) => (await import('./nc-command.js')).runNc(args, { signal: stdoutClosed.signal }), holdsDevice: true },
  run: { run: async (args, print) => (await import('../run/run-command.js')).runRun(args, print), holdsDevice: true },
  net: { run: async (args, print) => (await import('../run/run-command.js')).runNet(args, print) },
};

/** The package's version, from its package.json (two folders above dist/src/cli/, or src/cli/). */
function version(): string {
  for (const path of ['../../../package.json', '../../package.json']) {
    try {
      const text = readFileSync(new URL(path, import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === 'ustack' && parsed.version) return parsed.version;
    } catch {
      // Not here: the other layout.
    }
  }
  return 'unknown';
}

/** Exits with status 141 (128 + SIGPIPE) once stdout is closed and nothing needs undoing. */
const EXIT_STDOUT_CLOSED = 141;
let closedStdout = false;
let currentCommand: string | undefined;

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  closedStdout = true;
  // A command on a device undoes its setup first (it stops as on Ctrl-C); the others just end.
  if (currentCommand !== undefined && COMMANDS[currentCommand]?.holdsDevice) stdoutClosed.abort();
  else process.exit(EXIT_STDOUT_CLOSED);
});
process.stderr.on('error', () => {
  // Nowhere left to say anything.
});
process.on('uncaughtException', (error: Error) => {
  process.stderr.write(
    `ustack${currentCommand ? ` ${currentCommand}` : ''}: internal error: ${error.message}${process.env.USTACK_DEBUG ? `\n${error.stack}` : ' (USTACK_DEBUG=1 shows where)'}\n`,
  );
  process.exit(70);
});

function print(line: string): void {
  if (!closedStdout) console.log(line);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case '--version':
    case '-V':
    case 'version':
      print(`ustack ${version()}`);
      return 0;
    case undefined:
      process.stderr.write(usage);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      if (rest.length > 0 && command === 'help') {
        if (!(rest[0] in COMMANDS)) throw new UsageError(`ustack help: COMMAND takes one of ${Object.keys(COMMANDS).join(', ')}, not '${rest[0]}'`);
        return COMMANDS[rest[0]].run(['--help'], print);
      }
      process.stdout.write(usage);
      return 0;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    throw new UsageError(
      command.startsWith('-')
        ? `ustack: unknown option ${command} (\`ustack --help\` lists the commands)`
        : `ustack: unknown command '${command}' (\`ustack --help\` lists them)`,
    );
  }
  currentCommand = command;
  return entry.run(rest, print);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = closedStdout ? EXIT_STDOUT_CLOSED : code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`ustack${currentCommand ? ` ${currentCommand}` : ''}: ${message}\n`);
    if (process.env.USTACK_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  },
);
