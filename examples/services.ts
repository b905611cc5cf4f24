/**
 * The seed programs as services a stack can serve: `ustack up --serve echo,upper,kv,gateway,http`
 * starts them on a stack on a real device, and `ustack example NAME` runs one of them against its
 * client on the virtual network. Each names the ports it listens on (well-known ones where they
 * exist: echo on 7, RFC 862; http on 80) and a command that reaches it from the host's shell.
 */
import http from 'node:http';
import { BerkeleySockets } from '../src/socket-api/berkeley.js';
import { serveOnStack } from '../src/socket-api/serve-on-stack.js';
import { formatIpAddress } from '../src/ip/ip-address.js';
import type { Stack } from '../src/socket-api/stack.js';
import { tcpInfo, type TcpInfo } from '../src/tcp/tcp-info.js';
import type { UdpSocket } from '../src/udp/udp-layer.js';
import { startKvServer, KV_PORT } from './kv-rpc/kv.js';
import { IPERF3_PORT, startIperf3Server, unmapped } from './iperf3-server.js';
import { startGatewayServer, type RemoteObject } from './object-gateway/gateway.js';
import { ECHO_PORT, startEchoServer } from './tcp-echo.js';
import { startTcpUpperServer, TCP_UPPER_PORT } from './tcp-upper.js';
import { startUdpUpperServer, UDP_UPPER_PORT } from './udp-upper.js';

/** One port a service listens on. */
export interface ServicePort {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

/** A service: what it is, where it listens, how to start it, and how to reach it. */
export interface Service {
  readonly summary: string;
  readonly ports: readonly ServicePort[];
  /**
   * Starts listening on every address of `stack`; `log` gets a line per request where useful.
   * Returns what stops it (its listeners closed, so nothing of it keeps the process alive).
   * `capturePath` is the pcap `ustack up --pcap` records, which http's `/view` shows.
   */
  readonly start: (stack: Stack, log: (line: string) => void, options?: { readonly capturePath?: string }) => () => void;
  /** Shell commands that reach the service at `address` from the host. */
  readonly tryFromShell: (address: string) => readonly string[];
}

/** The object gateway's port (Py4J's default). */
export const GATEWAY_PORT = 25333;
/** The HTTP port. */
export const HTTP_PORT = 80;

/** What the gateway service exposes as its entry point. */
export const GATEWAY_ENTRY_POINT = {
  add: (a: number, b: number) => a + b,
  countdown: async (listener: RemoteObject, from: number) => {
    for (let i = from; i > 0; i--) await listener.tick(i);
    return 'lift-off';
  },
  fail: () => {
    throw new TypeError('this method always fails');
  },
};

/**
 * A UDP echo server (RFC 862) on `port`: every datagram goes back to where it came from. With
 * `family` 6, an IPV6_V6ONLY socket on `::` beside the IPv4 one.
 */
export function startUdpEchoServer(stack: Stack, port = ECHO_PORT, family: 4 | 6 = 4): UdpSocket {
  const socket = stack.udp.open(family);
  if (family === 6) socket.options.ipv6Only = true;
  const bound = socket.bind(family === 6 ? '::' : 0, port);
  if (!bound.ok) throw new Error(`bind udp :${port} ${bound.error}`);
  socket.onReadable = () => {
    for (let datagram = socket.receive(); datagram; datagram = socket.receive()) socket.send(datagram.payload, datagram.sourceAddress, datagram.sourcePort);
  };
  return socket;
}

/** One TCP connection in `/stats.json`: its 4-tuple, RFC 9293 state and Linux's TCP_INFO. */
export interface ConnectionReport {
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  readonly tcpInfo: TcpInfo;
}

/** What `/stats.json` serves: every counter of the stack, and each TCP connection (as `ss -ti` lists them). */
export interface StatsReport {
  readonly counters: Record<string, number>;
  readonly connections: readonly ConnectionReport[];
}

/** The stack's counters and its TCP connections with their TCP_INFO, now. */
export function statsReport(stack: Stack): StatsReport {
  const now = stack.currentTimeForCalls();
  const connections = stack.tcp.listConnections().map((connection) => ({
    local: `${formatIpAddress(connection.localAddress)}:${connection.localPort}`,
    remote: `${formatIpAddress(connection.remoteAddress)}:${connection.remotePort}`,
    state: connection.state,
    tcpInfo: tcpInfo(connection, now),
  }));
  return { counters: stack.stats.snapshot(), connections };
}

/** Largest body `/bytes/N` serves (1 GB). */
const MAX_HTTP_BYTES = 1_000_000_000;

/** The zeros every `/bytes/N` body is cut from: made once (sockets only read what they are given). */
const ZEROS = Buffer.alloc(64 * 1024);

/** Request lines the http service prints in a second; the rest are counted (`wrk` makes thousands). */
const REQUEST_LINES_PER_SECOND = 10;

/**
 * `log` for one line per request, at most REQUEST_LINES_PER_SECOND of them in each second of the
 * stack's time; the first line of the next second says how many were left out.
 */
function requestLog(stack: Stack, log: (line: string) => void): (line: string) => void {
  let secondStart = -Infinity;
  let printed = 0;
  let leftOut = 0;
  return (line) => {
    const now = stack.currentTimeForCalls();
    if (now - secondStart >= 1000) {
      if (leftOut > 0) log(`http: ${leftOut} more request${leftOut === 1 ? '' : 's'} not printed (at most ${REQUEST_LINES_PER_SECOND} a second are)`);
      secondStart = now;
      printed = 0;
      leftOut = 0;
    }
    if (printed < REQUEST_LINES_PER_SECOND) {
      printed++;
      log(line);
    } else {
      leftOut++;
    }
  };
}

/**
 * Node's own http server on a ustack listener on `port`. `GET /` is a page of the stack's
 * counters, `GET /stats.json` the counters and every TCP connection with its TCP_INFO as JSON
 * (`statsReport`), `GET /bytes/N` N bytes (a download to time), `GET /view` the capture at
 * `capturePath` as `ustack view` draws it (src/view/serve-view.ts).
 */
export function startHttpServer(stack: Stack, port = HTTP_PORT, log: (line: string) => void = () => {}, capturePath?: string): () => void {
  const logRequest = requestLog(stack, log);
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    logRequest(`http: ${request.method} ${url} from ${unmapped(request.socket.remoteAddress)}:${request.socket.remotePort}`);
    const bytes = /^\/bytes\/(\d+)$/.exec(url);
    if (url === '/view') return void import('../src/view/serve-view.js').then((view) => view.serveView(response, capturePath));
    if (url === '/') {
      response.setHeader('content-type', 'text/plain; charset=utf-8');
      response.end(`hello from ustack: this page came over a TCP/IP stack written in TypeScript\n\n${stack.stats.lines()}`);
    } else if (url === '/stats.json') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(statsReport(stack)));
    } else if (bytes && Number(bytes[1]) <= MAX_HTTP_BYTES) {
      sendZeros(response, Number(bytes[1]));
    } else {
      response.statusCode = 404;
      response.end('not found: try /, /stats.json or /bytes/N\n');
    }
  });
  // With the server's own socket settings (TCP_NODELAY, half-open), as Node's listener would apply them;
  // on :: as Node's http.listen(port) on a host with IPv6: both families (curl -g 'http://[addr]/').
  const listener = serveOnStack(stack, server, port, '::');
  return () => {
    listener.close();
    server.close();
    server.closeAllConnections();
  };
}

/** Writes `count` zero bytes to `response` in 64 KiB chunks, waiting for 'drain' when full. */
export function sendZeros(response: http.ServerResponse, count: number): void {
  const chunk = ZEROS;
  response.setHeader('content-type', 'application/octet-stream');
  response.setHeader('content-length', count);
  let left = count;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!response.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void response.once('drain', pump);
    }
    response.end();
  };
  pump();
}

/** A Python one-liner that sends one framed JSON message (the kv/gateway framing) and prints the reply. */
function pythonFramedCall(address: string, port: number, message: object): string {
  return `python3 -c "import socket,struct,json;s=socket.create_connection(('${address}',${port}));b=json.dumps(${JSON.stringify(message).replaceAll('"', "'")}).encode();s.sendall(struct.pack('<ii',1,len(b))+b);h=s.recv(8);print(s.recv(struct.unpack('<ii',h)[1]).decode())"`;
}

/** The services by name. */
export const SERVICES: Readonly<Record<string, Service>> = {
  echo: {
    summary: 'echo (RFC 862) on TCP and UDP: every byte comes back',
    ports: [
      { protocol: 'tcp', port: ECHO_PORT },
      { protocol: 'udp', port: ECHO_PORT },
    ],
    start: (stack) => {
      // Both families, as every service here: IPv4 and an IPv6-only twin on the same port (`nc -6 ADDR6 7`).
      const api = new BerkeleySockets(stack);
      const tcp = startEchoServer(api, 'concurrent');
      const tcp6 = startEchoServer(api, 'concurrent', ECHO_PORT, 6);
      const udp = startUdpEchoServer(stack);
      const udp6 = startUdpEchoServer(stack, ECHO_PORT, 6);
      return () => {
        api.close(tcp.fd);
        api.close(tcp6.fd);
        udp.close();
        udp6.close();
      };
    },
    tryFromShell: (address) => [`nc ${address} ${ECHO_PORT}`, `nc -u ${address} ${ECHO_PORT}`],
  },
  upper: {
    summary: 'the upper-casing servers of the seed notes, on TCP (welcome socket) and UDP',
    ports: [
      { protocol: 'tcp', port: TCP_UPPER_PORT },
      { protocol: 'udp', port: UDP_UPPER_PORT },
    ],
    start: (stack, log) => {
      const api = new BerkeleySockets(stack);
      const tcp = startTcpUpperServer(api, TCP_UPPER_PORT, log);
      const tcp6 = startTcpUpperServer(api, TCP_UPPER_PORT, log, 6);
      const udp = startUdpUpperServer(stack, UDP_UPPER_PORT, log);
      const udp6 = startUdpUpperServer(stack, UDP_UPPER_PORT, log, 6);
      return () => {
        api.close(tcp.fd);
        api.close(tcp6.fd);
        udp.close();
        udp6.close();
      };
    },
    tryFromShell: (address) => [`echo 'a sentence' | nc -N ${address} ${TCP_UPPER_PORT}`, `echo hello | nc -u -w1 ${address} ${UDP_UPPER_PORT}`],
  },
  kv: {
    summary: 'key-value RPC: 8-byte header + JSON, {func: GET|PUT, params: {obj, val}}',
    ports: [{ protocol: 'tcp', port: KV_PORT }],
    start: (stack, log) => {
      const api = new BerkeleySockets(stack);
      const kv = startKvServer(api, KV_PORT, log);
      // The IPv6 listener serves the same keys.
      const kv6 = startKvServer(api, KV_PORT, log, { family: 6, dictionary: kv.dictionary });
      return () => {
        api.close(kv.fd);
        api.close(kv6.fd);
      };
    },
    tryFromShell: (address) => [pythonFramedCall(address, KV_PORT, { func: 'PUT', params: { obj: 'colour', val: 'blue' } })],
  },
  gateway: {
    summary: 'object gateway (Py4J style): add(a, b), countdown(listener, n) with callbacks, fail()',
    ports: [{ protocol: 'tcp', port: GATEWAY_PORT }],
    start: (stack, log) => {
      const api = new BerkeleySockets(stack);
      const { fd } = startGatewayServer(api, GATEWAY_PORT, GATEWAY_ENTRY_POINT, () => log('gateway: a client connected'));
      const gateway6 = startGatewayServer(api, GATEWAY_PORT, GATEWAY_ENTRY_POINT, () => log('gateway: a client connected'), 6);
      return () => {
        api.close(fd);
        api.close(gateway6.fd);
      };
    },
    tryFromShell: (address) => [pythonFramedCall(address, GATEWAY_PORT, { type: 'call', id: 1, target: 'entryPoint', method: 'add', args: [2, 3] })],
  },
  http: {
    summary:
      "Node's http server on a ustack listener: / (counters), /stats.json (counters, TCP_INFO per connection), /view (the --pcap capture in ustack view), /bytes/N",
    ports: [{ protocol: 'tcp', port: HTTP_PORT }],
    start: (stack, log, options) => startHttpServer(stack, HTTP_PORT, log, options?.capturePath),
    tryFromShell: (address) => [`curl http://${address}/`, `curl -o /dev/null http://${address}/bytes/100000000`, `a browser at http://${address}/view`],
  },
  iperf: {
    summary: 'an iperf3-compatible server (TCP, -R and -P too): measure ustack with iperf3 -c',
    ports: [{ protocol: 'tcp', port: IPERF3_PORT }],
    start: (stack, log) => startIperf3Server(stack, IPERF3_PORT, log),
    tryFromShell: (address) => [`iperf3 -c ${address}`, `iperf3 -c ${address} -R`],
  },
};

/** Parses `--serve` values ("echo,upper" or repeated; "none" for nothing) into known names. */
export function parseServiceList(values: readonly string[]): string[] {
  const names = values
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none');
  const unknown = names.filter((name) => !(name in SERVICES));
  if (unknown.length > 0) throw new Error(`unknown service ${unknown.join(', ')}: choose from ${Object.keys(SERVICES).join(', ')} (or none)`);
  return [...new Set(names)];
}

/** "tcp 7, udp 7" */
export function describePorts(ports: readonly ServicePort[]): string {
  return ports.map((p) => `${p.protocol} ${p.port}`).join(', ');
}
