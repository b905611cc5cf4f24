/**
 * The host's application, played on ustack's Berkeley API from the calls pcap2drill's plan infers
 * (or a test gives): the descriptors a script names mapped to ustack's, writes taking the bytes
 * the capture shows the host sending, reads taking what arrived, close and shutdown.
 */
import { ErrnoError } from '../core/errno.js';
import { formatIpAddress, ipFamily, type IpAddress } from '../ip/ip-address.js';
import * as C from '../socket-api/berkeley-constants.js';
import type { BerkeleySockets } from '../socket-api/berkeley.js';
import { seqSub } from '../tcp/seq.js';
import { TcpFlag } from '../tcp/tcp-packet.js';
import type { ApplicationCall, CapturedSegment, ConversationPlan } from '../drill/pcap-to-script.js';

/** One application call of the host, at its time. */
export interface TimedCall {
  /** ms after the capture's first frame. */
  readonly atMs: number;
  /**
   * The capture frame it follows when several happen at one instant (inferSockets sets it);
   * without it the call follows every frame captured before `atMs`, and precedes those at it.
   */
  readonly afterFrame?: number;
  /** The call; `write` sends the next `length` bytes of what the capture shows the host sent. */
  readonly call: ApplicationCall;
}

/** The application calls a plan infers, at their times. */
export function inferredCalls(plan: ConversationPlan<IpAddress>, originMs: number): TimedCall[] {
  let afterFrame = 0;
  return plan.steps.flatMap((step) => {
    if (step.kind === 'segment') afterFrame = step.segment.frame;
    return step.kind === 'call' ? [{ atMs: step.timeMs - originMs, afterFrame, call: step.call }] : [];
  });
}

/** The bytes the host sent in a conversation, by relative sequence number (1 is the first). */
export function hostStream(plan: ConversationPlan<IpAddress>): Uint8Array {
  const outbound = plan.steps.flatMap((step) => (step.kind === 'segment' && step.outbound ? [step.segment] : []));
  const relativeStart = (segment: CapturedSegment<IpAddress>) => seqSub(segment.tcp.seq, plan.hostIsn) + ((segment.tcp.flags & TcpFlag.SYN) !== 0 ? 1 : 0);
  let size = 0;
  for (const segment of outbound) size = Math.max(size, relativeStart(segment) - 1 + segment.tcp.payload.length);
  const stream = new Uint8Array(Math.max(0, size));
  // What the host first sent of each byte is what it wrote: a retransmission carrying other
  // bytes is then a payload divergence.
  const seen = new Uint8Array(stream.length);
  for (const segment of outbound) {
    const start = relativeStart(segment) - 1;
    segment.tcp.payload.forEach((byte, offset) => {
      if (seen[start + offset]) return;
      stream[start + offset] = byte;
      seen[start + offset] = 1;
    });
  }
  return stream;
}

/** What the application reports to the replay. */
export interface ApplicationHooks {
  /** The virtual time (ms). */
  readonly now: () => number;
  /** A call that failed, or found nothing to do. */
  readonly note: (line: string) => void;
  /** connect() is called: ustack's next SYN to the peer belongs to this conversation. */
  readonly connecting: () => void;
  /**
   * The listening sockets of the replay by port, shared by its conversations: a server that
   * accepted several connections on one port listened once (a second listen would fail).
   */
  readonly listeners: Map<number, number>;
}

/** The host's application in one conversation. */
export class ReplayApplication {
  /** Bytes of the host's stream written so far. */
  private written = 0;
  /** The script's descriptors (3, 4) to ustack's. */
  private readonly fds = new Map<number, number>();
  /** This conversation's listening socket is an earlier one's. */
  private sharedListener = false;

  constructor(
    private readonly api: BerkeleySockets,
    private readonly plan: ConversationPlan<IpAddress>,
    private readonly host: IpAddress,
    /** What the host sent, by relative sequence number (hostStream). */
    private readonly stream: Uint8Array,
    private readonly hooks: ApplicationHooks,
  ) {}

  private describe(call: ApplicationCall): string {
    return `conversation ${this.plan.number}: ${call.name}(${call.fd}${call.length === undefined ? '' : `, ${call.length}`})`;
  }

  private failed(call: ApplicationCall): (error: unknown) => void {
    return (error) =>
      this.hooks.note(
        `${this.describe(call)} failed at ${this.hooks.now().toFixed(3)} ms: ${error instanceof ErrnoError ? error.code : error instanceof Error ? error.message : String(error)}`,
      );
  }

  private fd(call: ApplicationCall): number {
    const real = this.fds.get(call.fd);
    if (real === undefined) throw new Error(`descriptor ${call.fd} is not open (${call.fd === 4 ? 'no connection was accepted' : 'no socket'})`);
    return real;
  }

  /** Makes the call; a failure is a note, never thrown (blocking calls carry on in the background). */
  perform(call: ApplicationCall): void {
    const api = this.api;
    try {
      switch (call.name) {
        case 'socket': {
          const listener = this.plan.hostListened ? this.hooks.listeners.get(this.plan.host.port) : undefined;
          this.sharedListener = listener !== undefined;
          this.fds.set(call.fd, listener ?? api.socket(ipFamily(this.host) === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM, C.IPPROTO_TCP));
          break;
        }
        case 'setsockopt':
          if (!this.sharedListener) api.setsockopt(this.fd(call), C.SOL_SOCKET, C.SO_REUSEADDR, 1);
          break;
        case 'bind':
          if (!this.sharedListener) api.bind(this.fd(call), { address: formatIpAddress(this.host), port: this.plan.host.port });
          break;
        case 'listen':
          if (!this.sharedListener) {
            api.listen(this.fd(call), 128);
            this.hooks.listeners.set(this.plan.host.port, this.fd(call));
          }
          // The application waits in accept() from the start.
          api.accept(this.fd(call)).then((accepted) => this.fds.set(4, accepted.fd), this.failed({ name: 'accept', fd: call.fd }));
          break;
        case 'fcntl':
          // connect() is not awaited, so the socket may stay blocking: its writes then queue whole.
          break;
        case 'connect':
          this.hooks.connecting();
          api.connect(this.fd(call), { address: formatIpAddress(this.plan.peer.address), port: this.plan.peer.port }).catch(this.failed(call));
          break;
        case 'accept':
          if (!this.fds.has(4)) this.hooks.note(`${this.describe(call)}: no connection to accept at ${this.hooks.now().toFixed(3)} ms`);
          break;
        case 'write': {
          const data = this.stream.subarray(this.written, this.written + (call.length ?? 0));
          this.written += data.length;
          api.send(this.fd(call), data).catch(this.failed(call));
          break;
        }
        case 'read': {
          const descriptor = this.fd(call);
          const readAll = async (left: number): Promise<void> => {
            while (left > 0) {
              const got = await api.recv(descriptor, left);
              if (got.length === 0) return;
              left -= got.length;
            }
          };
          readAll(call.length ?? 0).catch(this.failed(call));
          break;
        }
        case 'close':
          api.close(this.fd(call));
          break;
        case 'shutdown':
          api.shutdown(this.fd(call), C.SHUT_WR);
          break;
      }
    } catch (error) {
      this.failed(call)(error);
    }
  }
}
