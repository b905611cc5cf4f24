/**
 * The upper-casing UDP client and server from the seed notes ("Socket Programming with UDP"):
 * the client sends a line, the server upper-cases it and sends it back to the address and port
 * the datagram came from. One server socket serves every client; no connection, no handshake.
 *
 *   server: socket(AF_INET, SOCK_DGRAM); bind(('', port)); loop { recvfrom; sendto(upper, clientAddress) }
 *   client: socket(AF_INET, SOCK_DGRAM); sendto(line, (server, port)); recvfrom(2048); close
 */
import { parseIpv4Address } from '../src/ip/address.js';
import { formatIpAddress } from '../src/ip/ip-address.js';
import type { Stack } from '../src/socket-api/stack.js';
import type { UdpSocket } from '../src/udp/udp-layer.js';

/** The server's port. (The textbook uses 12000, which Wireshark decodes as another protocol.) */
export const UDP_UPPER_PORT = 15000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts the server on `port` of every address of `stack` (with `family` 6, every IPv6 one); returns its socket. */
export function startUdpUpperServer(stack: Stack, port = UDP_UPPER_PORT, log: (line: string) => void = () => {}, family: 4 | 6 = 4): UdpSocket {
  const serverSocket = stack.udp.open(family);
  if (family === 6) serverSocket.options.ipv6Only = true;
  const bound = serverSocket.bind(family === 6 ? '::' : 0, port);
  if (!bound.ok) throw new Error(`bind :${port} ${bound.error}`);
  serverSocket.onReadable = () => {
    for (let datagram = serverSocket.receive(); datagram; datagram = serverSocket.receive()) {
      const message = decoder.decode(datagram.payload);
      const modified = message.toUpperCase();
      log(`server: ${JSON.stringify(message)} from ${formatIpAddress(datagram.sourceAddress)}:${datagram.sourcePort} → ${JSON.stringify(modified)}`);
      serverSocket.send(encoder.encode(modified), datagram.sourceAddress, datagram.sourcePort);
    }
  };
  return serverSocket;
}

/** Sends one line to the server; `onReply` gets the reply text. Returns the client socket. */
export function sendUdpUpperRequest(
  stack: Stack,
  serverName: string,
  serverPort: number,
  message: string,
  onReply: (reply: string, from: string) => void,
): UdpSocket {
  const address = parseIpv4Address(serverName);
  if (address === null) throw new Error(`bad server address ${serverName}`);
  const clientSocket = stack.udp.open();
  clientSocket.onReadable = () => {
    const datagram = clientSocket.receive();
    if (!datagram) return;
    onReply(decoder.decode(datagram.payload), `${formatIpAddress(datagram.sourceAddress)}:${datagram.sourcePort}`);
    clientSocket.close();
  };
  const sent = clientSocket.send(encoder.encode(message), address, serverPort);
  if (!sent.ok) throw new Error(`sendto ${serverName}:${serverPort} ${sent.error}`);
  return clientSocket;
}
