#!/usr/bin/env node
/**
 * The `ustack` command. Subcommands:
 *   ustack demo                      the `npm start` demo on a virtual network (no root)
 *   ustack dissect FILE [--json]     each frame of a pcap, layer by layer (or tshark-style JSON)
 *   ustack drill SCRIPT.pkt...       run packetdrill scripts against ustack in virtual time
 *   ustack up [options]              ustack on a real TUN/TAP device until Ctrl-C (root)
 *   ustack ping [options] HOST       ping from ustack over a TUN/TAP device (root)
 *   ustack nc [options] [-l] [-u] HOST PORT   netcat over ustack on a TUN/TAP device (root)
 */
import { resolve } from 'node:path';
import { runDemo } from '../../examples/demo.js';
import { runDrill } from '../drill/drill-command.js';
import { runExample } from '../../examples/run-example.js';
import { runDissect } from './dissect-command.js';
import { runNc } from './nc-command.js';
import { runPing } from './ping-command.js';
import { runUp } from './up-command.js';

const usage = `usage: ustack <command> [arguments]

commands:
  demo                       two stacks on a virtual wire: UDP upper-casing, ping, a traced datagram;
                             writes captures/demo.pcap (no root needed)
  dissect FILE [--json]      print every frame of a pcap/pcapng file layer by layer, with the byte
                             range of each header; --json prints tshark-style fields, one frame a line
  example NAME [--faults] [--tun DEVICE]
                             a seed program (echo, tcp-upper, udp-upper, kv, gateway): both ends on
                             the virtual network, or the server on a TUN device (\`ustack example\`)
  drill [--linux] [--tolerance_usecs=N] [--strict_segments] [--pcap_dir=DIR] SCRIPT.pkt...
                             run packetdrill scripts against ustack in virtual time (docs/drill.md)
  up [--tun NAME|--tap NAME] [--addr CIDR] [--host-addr ADDR] [--netns NS]
     [--serve echo,upper,kv,gateway,http] [--pcap FILE] [--trace]
                             ustack on a real TUN (or TAP) device, answering ping and serving the
                             seed programs, until Ctrl-C; needs root (\`ustack up --help\`)
  ping [device options] HOST [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT]
                             ping from ustack (a raw ICMP socket) over the same device setup as up;
                             iputils-style output and summary (\`ustack ping --help\`)
  nc [device options] [-l] [-u] [-w SECS] [-q SECS] [--progress] HOST PORT
                             netcat over ustack: stdin to the socket, the socket to stdout; -l
                             listens, -u for UDP; a progress line for files (\`ustack nc --help\`)
  help                       this text
`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'demo':
      runDemo({ capturePath: resolve(process.cwd(), 'captures/demo.pcap'), print: (line) => console.log(line) });
      return 0;
    case 'dissect':
      return runDissect(rest, (line) => console.log(line));
    case 'example':
      return runExample(rest, (line) => console.log(line));
    case 'drill':
      return runDrill(rest, (line) => console.log(line));
    case 'up':
      return runUp(rest, (line) => console.log(line));
    case 'ping':
      return runPing(rest, (line) => console.log(line));
    case 'nc':
      return runNc(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`ustack: unknown command '${command}'\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ustack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
