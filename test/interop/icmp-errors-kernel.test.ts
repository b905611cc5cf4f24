/**
 * Our ICMP errors as the kernel's sockets see them: a datagram from a connected kernel UDP socket
 * to a port nobody has open on ustack draws our port unreachable (RFC 1122 §3.2.2.1, §4.1.3.3),
 * which Linux turns into ECONNREFUSED on that socket — python3 raises ConnectionRefusedError on
 * the next recv, or on the next send.
 */
import { expect, it } from 'vitest';
import { closePeersAfterEach, describeInterop, KernelPeer, STACK_ADDRESS } from './kernel-peer.js';

/** Run in the namespace: one connected socket per way of learning of the error. */
const SCRIPT = `
import socket, sys, time
address, port = sys.argv[1], int(sys.argv[2])

def report(way, action):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((address, port))
    try:
        action(s)
        print(way, "no-error", flush=True)
    except ConnectionRefusedError as error:
        print(way, "ConnectionRefusedError", error.errno, flush=True)
    except socket.timeout:
        print(way, "timeout", flush=True)
    finally:
        s.close()

def on_recv(s):
    s.send(b"anyone there?")
    s.recv(100)

def on_send(s):
    s.send(b"anyone there?")
    time.sleep(0.5)   # the ICMP error arrives meanwhile and is left pending on the socket
    s.send(b"still there?")

report("recv", on_recv)
report("send", on_send)
`;

describeInterop("interop: ustack's ICMP errors seen by the kernel's sockets", () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('a kernel UDP socket connected to a closed ustack port gets ECONNREFUSED on its next recv and on its next send', async () => {
    peer = new KernelPeer();
    const result = await peer.run(['python3', '-c', SCRIPT, STACK_ADDRESS, '9999'], { timeoutMs: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.toString().trim().split('\n');
    expect(lines).toEqual(['recv ConnectionRefusedError 111', 'send ConnectionRefusedError 111']);
    // Both were ours: a port unreachable for each datagram that found no socket.
    expect(peer.stack.stats.get('udp.rx.noPort')).toBe(2);
    expect(peer.stack.stats.get('icmp.tx.destinationUnreachable')).toBe(2);
  }, 30_000);
});
