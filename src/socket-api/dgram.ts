/**
 * Node's `dgram` module over one ustack Stack (`udp4` and `udp6`): the same exports, events, argument
 * forms and errors as `node:dgram`, observed call for call:
 *
 * - `bind()` resolves its address first, so `listening` (and the bind callback) come on a
 *   later tick; a `send()` or `connect()` on an unbound socket binds it implicitly
 *   (0.0.0.0, ephemeral port) and is queued until then;
 * - `send()` reports success or failure only through its callback (`send EMSGSIZE
 *   127.0.0.1:9`, `send EACCES 255.255.255.255:9` without setBroadcast); with no callback a
 *   failed send is silent, as in Node;
 * - on a connected socket an ICMP port unreachable becomes an `error` event, `recvmsg
 *   ECONNREFUSED`, as Linux reports it through the next receive;
 * - buffer sizes follow Linux: the value set is doubled, capped by rmem_max/wmem_max.
 *
 * Multicast: a socket's membership makes the stack accept the group (and report it with IGMPv2);
 * datagrams to it reach every socket bound to its port, as on Linux.
 */
import { EventEmitter } from 'node:events';
import type { BlockList } from 'node:net';
import type { UdpSocket } from '../udp/udp-layer.js';
import {
  codedError,
  errnoException,
  exceptionWithHostPort,
  invalidArgType,
  nodeErrors,
  socketBufferSizeError,
  validateFunction,
  validateNumber,
  validatePort,
  validateString,
  validateAbortSignal,
  type NodeSystemError,
} from './node-errors.js';
import { fixBufferList, sliceBuffer, validateUint32, viewBytes } from './dgram-args.js';
import { addressInfo, blocks, callableClass, NodeModuleContext, toIpv4, toStackAddress, validateBlockList, type LookupFunction } from './node-support.js';
import type { IpAddress } from '../ip/ip-address.js';
import { parseIpv6ScopedAddress } from '../ip/ipv6-address.js';
import type { Stack } from './stack.js';

/** Linux's limits for SO_RCVBUF/SO_SNDBUF as an unprivileged process sets them. */
const RMEM_MAX = 212_992;
const WMEM_MAX = 212_992;
const SOCK_MIN_RCVBUF = 2_304;
const SOCK_MIN_SNDBUF = 4_608;
const DEFAULT_SEND_BUFFER = 212_992;

/** What a datagram's sender looks like in a `message` event. */
export interface RemoteInfo {
  /** The sender's address: dotted quad on `udp4`; on `udp6` IPv6 text, IPv4 senders as ::ffff:a.b.c.d. */
  address: string;
  /** `IPv4` or `IPv6`. */
  family: 'IPv4' | 'IPv6';
  /** The sender's port. */
  port: number;
  /** The message's size in bytes. */
  size: number;
}

/** Options of `dgram.createSocket({...})`. */
export interface DgramSocketOptions {
  /** The socket family: `udp4`, or `udp6` (which also speaks IPv4 as ::ffff:a.b.c.d unless `ipv6Only`). */
  type: 'udp4' | 'udp6';
  /** SO_REUSEADDR: `bind()` succeeds where another socket that set it holds the address; only the one bound last receives. Default false. */
  reuseAddr?: boolean;
  /** SO_REUSEPORT: sockets that all set it may bind the same address and port (Node 22.12+). */
  reusePort?: boolean;
  /** For `udp6`: IPv6 only, no dual stack (IPV6_V6ONLY). */
  ipv6Only?: boolean;
  /** SO_RCVBUF, set once bound (doubled and clamped as Linux does). */
  recvBufferSize?: number;
  /** SO_SNDBUF, set once bound (doubled and clamped as Linux does). */
  sendBufferSize?: number;
  /** Resolver for host names that are not IPv4 literals (as `dns.lookup`). */
  lookup?: (hostname: string, family: number, callback: (error: Error | null, address?: string, family?: number) => void) => void;
  /** Aborting it closes the socket. */
  signal?: AbortSignal;
  /** Datagrams from addresses it blocks are dropped unseen (Node 22.13+). */
  receiveBlockList?: BlockList;
  /** Sends and connects to addresses it blocks fail with ERR_IP_BLOCKED (Node 22.13+). */
  sendBlockList?: BlockList;
}

type SendCallback = (error: Error | null, bytes?: number) => void;

const enum BindState {
  Unbound,
  Binding,
  Bound,
}

const enum ConnectState {
  Disconnected,
  Connecting,
  Connected,
}

const kContext = Symbol('ustack.dgram.context');

/** Node's `dgram.Socket` for one stack (each stack's module subclasses it with its context). */
export class DgramSocket extends EventEmitter {
  /** The per-stack context; set on each stack's subclass. */
  static [kContext]: NodeModuleContext | undefined;

  /** `udp4`. */
  readonly type: string;
  readonly #context: NodeModuleContext;
  #handle: UdpSocket | null;
  readonly #lookup: (address: string, callback: (error: Error | null, ip?: string) => void) => void;
  #bindState = BindState.Unbound;
  #connectState = ConnectState.Disconnected;
  #receiving = false;
  /** Calls waiting for the implicit bind to finish. */
  #queue: Array<() => void> | undefined;
  readonly #reuseAddr: boolean;
  readonly #reusePort: boolean;
  readonly #receiveBlockList: BlockList | undefined;
  readonly #sendBlockList: BlockList | undefined;
  #recvBufferSize: number | undefined;
  #sendBufferSize: number | undefined;
  #sendBuffer = DEFAULT_SEND_BUFFER;
  #deliveryQueued = false;
  #referenced = true;

  /** As `dgram.createSocket(type, listener)`. */
  constructor(type: 'udp4' | 'udp6' | DgramSocketOptions, listener?: (message: Buffer, rinfo: RemoteInfo) => void) {
    super();
    const context = (new.target as typeof DgramSocket)[kContext];
    if (!context) throw new Error("ustack: create sockets through a stack's dgram module (stack.dgram.createSocket)");
    this.#context = context;
    let options: DgramSocketOptions | undefined;
    let lookup: DgramSocketOptions['lookup'];
    if (type !== null && typeof type === 'object') {
      options = type;
      type = options.type;
      lookup = options.lookup;
      if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
      if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
      this.#receiveBlockList = validateBlockList(options.receiveBlockList, 'options.receiveBlockList');
      this.#sendBlockList = validateBlockList(options.sendBlockList, 'options.sendBlockList');
    }
    if (type !== 'udp4' && type !== 'udp6') throw nodeErrors.badSocketType();
    if (lookup !== undefined) validateFunction(lookup, 'lookup');
    const resolve: LookupFunction = context.lookup;
    const family = type === 'udp6' ? 6 : 4;
    const loopback = family === 6 ? '::1' : '127.0.0.1';
    this.#lookup = lookup
      ? (address, callback) => lookup!(address || loopback, family, callback)
      : (address, callback) => resolve(address || loopback, family, (error, ip) => callback(error, ip as string | undefined));
    this.type = type;
    this.#handle = context.stack.udp.open(family);
    this.#handle.options.ipv6Only = family === 6 && Boolean(options?.ipv6Only);
    this.#reuseAddr = Boolean(options?.reuseAddr);
    this.#reusePort = Boolean(options?.reusePort);
    this.#recvBufferSize = options?.recvBufferSize;
    this.#sendBufferSize = options?.sendBufferSize;
    if (typeof listener === 'function') this.on('message', listener);
    const signal = options?.signal;
    validateAbortSignal(signal, 'options.signal');
    if (signal !== undefined) {
      const onAbort = () => {
        if (this.#handle) this.close();
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  #healthCheck(): UdpSocket {
    if (!this.#handle) throw nodeErrors.dgramNotRunning();
    return this.#handle;
  }

  // ---- bind --------------------------------------------------------------------------------

  /** `bind([port][, address][, cb])` or `bind({ port, address, exclusive }[, cb])`. */
  bind(...args: unknown[]): this {
    this.#healthCheck();
    if (this.#bindState !== BindState.Unbound) throw nodeErrors.socketAlreadyBound();
    this.#bindState = BindState.Binding;
    const callback = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof callback === 'function') {
      const onListening = () => {
        removeListeners();
        (callback as () => void).call(this);
      };
      const removeListeners = () => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let port: unknown = args[0];
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const options = port as { port?: unknown; address?: string; fd?: unknown };
      if (typeof options.fd === 'number' && options.fd > 0) {
        throw codedError('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'ustack: binding to a file descriptor is not available in a user-space stack');
      }
      address = options.address || '';
      port = options.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    if (!address) address = this.type === 'udp6' ? '::' : '0.0.0.0';
    this.#lookup(address as string, (error, ip) => {
      const handle = this.#handle;
      if (!handle) return;
      if (error) {
        this.#bindState = BindState.Unbound;
        this.emit('error', error);
        return;
      }
      const portNumber = Number(port) || 0;
      const local = this.#stackAddress(ip as string);
      handle.options.reuseAddress = this.#reuseAddr;
      handle.options.reusePort = this.#reusePort;
      const bound =
        local === null
          ? ({ ok: false, error: 'EAFNOSUPPORT' } as const)
          : portNumber < 0 || portNumber > 65535 || !Number.isInteger(portNumber)
            ? ({ ok: false, error: 'EINVAL' } as const)
            : handle.bind(local, portNumber);
      if (!bound.ok) {
        this.#bindState = BindState.Unbound;
        this.emit('error', exceptionWithHostPort(bound.error, 'bind', ip, port as number));
        return;
      }
      this.#startListening();
    });
    return this;
  }

  #startListening(): void {
    const handle = this.#handle!;
    handle.onReadable = () => this.#scheduleDelivery();
    handle.onError = () => this.#scheduleDelivery();
    this.#receiving = true;
    this.#bindState = BindState.Bound;
    this.#updateReference();
    if (this.#recvBufferSize) this.#bufferSize(this.#recvBufferSize, true);
    if (this.#sendBufferSize) this.#bufferSize(this.#sendBufferSize, false);
    this.emit('listening');
    if (handle.queuedDatagrams > 0 || handle.pendingError) this.#scheduleDelivery();
  }

  /** Bind implicitly (0.0.0.0, ephemeral port) the way send and connect do. */
  #implicitBind(): void {
    if (this.#bindState === BindState.Unbound) this.bind({ port: 0, exclusive: true }, null);
  }

  /** Runs `call` once the socket is bound (queued while the implicit bind is in progress). */
  #enqueue(call: () => void): void {
    if (this.#queue === undefined) {
      this.#queue = [];
      const onError = () => {
        this.removeListener('listening', onListening);
        this.#queue = undefined;
      };
      const onListening = () => {
        this.removeListener(EventEmitter.errorMonitor, onError);
        const queue = this.#queue ?? [];
        this.#queue = undefined;
        for (const queued of queue) queued();
      };
      this.once(EventEmitter.errorMonitor, onError);
      this.once('listening', onListening);
    }
    this.#queue.push(call);
  }

  // ---- receiving ---------------------------------------------------------------------------

  #scheduleDelivery(): void {
    if (this.#deliveryQueued) return;
    this.#deliveryQueued = true;
    process.nextTick(() => {
      this.#deliveryQueued = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const handle = this.#handle;
    if (!handle || !this.#receiving) return;
    for (let datagram = handle.receive(); datagram; datagram = this.#handle === handle && this.#receiving ? handle.receive() : null) {
      const info = addressInfo(datagram.sourceAddress, datagram.sourcePort, this.type === 'udp6');
      // A link-local sender is named with its zone, the interface it came by (RFC 4007 §11), as
      // libuv writes recvfrom's sin6_scope_id: `fe80::1%eth0`.
      if (typeof datagram.sourceAddress === 'string' && /^fe[89ab]/i.test(datagram.sourceAddress)) info.address = `${info.address}%${datagram.interfaceName}`;
      const rinfo: RemoteInfo = { ...info, family: info.family === 'IPv6' ? 'IPv6' : 'IPv4', size: datagram.payload.length };
      // receiveBlockList: the datagram is read and dropped, as Node's onMessage does.
      if (this.#receiveBlockList?.check(rinfo.address, rinfo.family === 'IPv6' ? 'ipv6' : 'ipv4')) continue;
      this.emit('message', Buffer.from(datagram.payload), rinfo);
    }
    if (this.#handle === handle && this.#receiving) {
      const error = handle.takeError();
      if (error) this.emit('error', errnoException(error, 'recvmsg'));
    }
  }

  // ---- connect -----------------------------------------------------------------------------

  /** Associates the socket with one remote address: `connect(port[, address][, cb])`. */
  connect(port: unknown, address?: unknown, callback?: (error?: Error) => void): void {
    const portNumber = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address as (error?: Error) => void;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    if (this.#connectState !== ConnectState.Disconnected) throw nodeErrors.dgramIsConnected();
    this.#connectState = ConnectState.Connecting;
    this.#implicitBind();
    if (this.#bindState !== BindState.Bound) {
      this.#enqueue(() => this.#connect(portNumber, address as string, callback));
      return;
    }
    this.#connect(portNumber, address, callback);
  }

  #connect(port: number, address: string, callback: ((error?: Error) => void) | undefined): void {
    if (callback) this.once('connect', callback);
    this.#lookup(address, (lookupError, ip) => {
      const handle = this.#handle;
      if (!handle) return;
      let error: Error | null = lookupError;
      if (!error && blocks(this.#sendBlockList, ip)) error = nodeErrors.ipBlocked(ip as string);
      if (!error) {
        const remote = this.#stackAddress(ip as string);
        const connected = remote === null ? ({ ok: false, error: 'EAFNOSUPPORT' } as const) : handle.connect(remote, port);
        if (!connected.ok) error = exceptionWithHostPort(connected.error, 'connect', address, port);
      }
      if (error) {
        const failure = error;
        this.#connectState = ConnectState.Disconnected;
        process.nextTick(() => {
          if (callback) {
            this.removeListener('connect', callback);
            callback(failure);
          } else {
            this.emit('error', failure);
          }
        });
        return;
      }
      this.#connectState = ConnectState.Connected;
      process.nextTick(() => this.emit('connect'));
    });
  }

  /** Forgets the remote address. */
  disconnect(): void {
    if (this.#connectState !== ConnectState.Connected) throw nodeErrors.dgramNotConnected();
    this.#handle?.disconnect();
    this.#connectState = ConnectState.Disconnected;
  }

  // ---- send --------------------------------------------------------------------------------

  /**
   * `send(msg[, offset, length][, port][, address][, callback])`: msg is a Buffer, TypedArray,
   * DataView, string, or an array of them (sent as one datagram).
   */
  send(...args: unknown[]): void {
    let [buffer, offset, length, port, address, callback] = args as [unknown, unknown, unknown, unknown, unknown, unknown];
    const connected = this.#connectState === ConnectState.Connected;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw nodeErrors.dgramIsConnected();
    }
    let list: Uint8Array[];
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string') list = [Buffer.from(buffer)];
      else if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
      else list = [viewBytes(buffer)];
    } else {
      const fixed = fixBufferList(buffer);
      if (!fixed) throw invalidArgType('buffer list arguments', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
      list = fixed;
    }
    let portNumber = 0;
    if (!connected) portNumber = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null) {
      validateString(address, 'address');
    }
    this.#healthCheck();
    this.#implicitBind();
    if (list.length === 0) list.push(Buffer.alloc(0));
    const done = callback as SendCallback | undefined;
    if (this.#bindState !== BindState.Bound) {
      this.#enqueue(() => this.send(list, connected ? undefined : portNumber, address as string | undefined, done));
      return;
    }
    if (!connected) {
      this.#lookup(address as string, (error, ip) => this.#doSend(error, ip, list, address as string | undefined, portNumber, done));
    } else {
      this.#doSend(null, undefined, list, undefined, 0, done);
    }
  }

  /** The legacy form: every argument given and checked. */
  sendto(buffer: unknown, offset: unknown, length: unknown, port: unknown, address: unknown, callback?: SendCallback): void {
    validateNumber(offset, 'offset');
    validateNumber(length, 'length');
    validateNumber(port, 'port');
    validateString(address, 'address');
    this.send(buffer, offset, length, port, address, callback);
  }

  #doSend(
    error: Error | null,
    ip: string | undefined,
    list: Uint8Array[],
    address: string | undefined,
    port: number,
    callback: SendCallback | undefined,
  ): void {
    if (error) {
      if (callback) process.nextTick(callback, error);
      else process.nextTick(() => this.emit('error', error));
      return;
    }
    const handle = this.#handle;
    if (!handle) return;
    if (blocks(this.#sendBlockList, ip)) {
      // As in Node: the callback hears of it; without one the datagram is dropped silently.
      if (callback) process.nextTick(callback, nodeErrors.ipBlocked(ip as string));
      return;
    }
    const payload = list.length === 1 ? list[0] : Buffer.concat(list);
    let result;
    if (port) {
      const destination = this.#stackAddress(ip as string);
      result = destination === null ? ({ ok: false, error: 'EAFNOSUPPORT' } as const) : handle.send(payload, destination, port);
    } else {
      result = handle.send(payload);
    }
    if (!callback) return; // without a callback Node reports nothing, not even an error
    if (result.ok) process.nextTick(callback, null, result.value);
    else {
      const failure: NodeSystemError = exceptionWithHostPort(result.error, 'send', address, port || undefined);
      process.nextTick(callback, failure);
    }
  }

  // ---- close and options -------------------------------------------------------------------

  /** Closes the socket; `close` follows on the next tick. */
  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.#queue !== undefined) {
      this.#queue.push(() => this.close());
      return this;
    }
    const handle = this.#healthCheck();
    this.#receiving = false;
    handle.onReadable = null;
    handle.onError = null;
    handle.close();
    this.#handle = null;
    this.#updateReference();
    process.nextTick(() => this.emit('close'));
    return this;
  }

  /** `{ address, family, port }` of the bound socket; throws `getsockname EBADF` before binding. */
  address(): {
    /** The bound address, dotted quad (`0.0.0.0` for any). */
    address: string;
    /** Always `IPv4`. */
    family: string;
    /** The bound port. */
    port: number;
  } {
    const handle = this.#healthCheck();
    if (!handle.bound) throw errnoException('EBADF', 'getsockname');
    return addressInfo(handle.localAddress, handle.localPort, this.type === 'udp6');
  }

  /** The connected peer; throws ERR_SOCKET_DGRAM_NOT_CONNECTED otherwise. */
  remoteAddress(): {
    /** The peer's address, dotted quad. */
    address: string;
    /** Always `IPv4`. */
    family: string;
    /** The peer's port. */
    port: number;
  } {
    const handle = this.#healthCheck();
    if (this.#connectState !== ConnectState.Connected) throw nodeErrors.dgramNotConnected();
    return addressInfo(handle.remoteAddress, handle.remotePort, this.type === 'udp6');
  }

  /** The bound handle, or the `EBADF` Node raises for an option set before binding. */
  #boundHandle(syscall: string): UdpSocket {
    const handle = this.#handle;
    if (!handle || !handle.bound) throw errnoException('EBADF', syscall);
    return handle;
  }

  /** SO_BROADCAST: needed to send to 255.255.255.255 or a subnet's broadcast address. */
  setBroadcast(flag: unknown): void {
    this.#boundHandle('setBroadcast').options.broadcast = Boolean(flag);
  }

  /** IP_TTL (1–255). */
  setTTL(ttl: unknown): number {
    validateNumber(ttl, 'ttl');
    const handle = this.#boundHandle('setTTL');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw errnoException('EINVAL', 'setTTL');
    handle.options.ttl = ttl;
    return ttl;
  }

  /** IP_MULTICAST_TTL (0–255): the TTL of datagrams to a group (default 1). */
  setMulticastTTL(ttl: unknown): number {
    validateNumber(ttl, 'ttl');
    const handle = this.#boundHandle('setMulticastTTL');
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw errnoException('EINVAL', 'setMulticastTTL');
    handle.options.multicastTtl = ttl;
    return ttl;
  }

  /**
   * IP_MULTICAST_LOOP (IPV6_MULTICAST_LOOP on a udp6 socket, as libuv sets it): whether our
   * datagrams to a joined group come back to this host (default on).
   */
  setMulticastLoopback(flag: unknown): unknown {
    const options = this.#boundHandle('setMulticastLoopback').options;
    if (this.type === 'udp6') options.multicastLoop6 = Boolean(flag);
    else options.multicastLoop = Boolean(flag);
    return flag;
  }

  /**
   * IP_MULTICAST_IF: multicasts leave by the interface with this address ('0.0.0.0': by the
   * routes). An IPv6 address sets IPV6_MULTICAST_IF, as libuv does (uv_udp_set_multicast_interface):
   * only its zone counts, `::%eth0` the interface eth0, an unknown or absent zone the routes' choice
   * (if_nametoindex's 0); on a udp4 socket that is ENOPROTOOPT, as Linux answers.
   */
  setMulticastInterface(interfaceAddress: unknown): void {
    this.#healthCheck();
    validateString(interfaceAddress, 'interfaceAddress');
    const handle = this.#boundHandle('setMulticastInterface');
    const address = toIpv4(interfaceAddress);
    if (address === null) {
      const scoped = parseIpv6ScopedAddress(interfaceAddress);
      if (scoped === null) throw errnoException('EINVAL', 'setMulticastInterface');
      if (this.type !== 'udp6') throw errnoException('ENOPROTOOPT', 'setMulticastInterface');
      const zone = scoped.zone && this.#context.stack.ip.getInterface(scoped.zone) ? scoped.zone : undefined;
      const set = handle.setMulticastInterface6(zone);
      if (!set.ok) throw errnoException(set.error, 'setMulticastInterface');
      return;
    }
    const set = handle.setMulticastInterface(address);
    if (!set.ok) throw errnoException(set.error, 'setMulticastInterface');
  }

  /** IP_ADD_MEMBERSHIP: the stack accepts the group while this socket is in it, and reports it (IGMPv2). */
  addMembership(multicastAddress: unknown, _interfaceAddress?: unknown): void {
    const handle = this.#healthCheck();
    if (!multicastAddress) throw nodeErrors.missingArgs('multicastAddress');
    const joined = handle.joinGroup(this.#checkGroup(multicastAddress, 'addMembership'));
    if (!joined.ok) throw errnoException(joined.error, 'addMembership');
  }

  /** IP_DROP_MEMBERSHIP. */
  dropMembership(multicastAddress: unknown, _interfaceAddress?: unknown): void {
    const handle = this.#healthCheck();
    if (!multicastAddress) throw nodeErrors.missingArgs('multicastAddress');
    const left = handle.leaveGroup(this.#checkGroup(multicastAddress, 'dropMembership'));
    if (!left.ok) throw errnoException(left.error, 'dropMembership');
  }

  /** Source-specific membership; validated only. */
  addSourceSpecificMembership(sourceAddress: unknown, groupAddress: unknown, _interfaceAddress?: unknown): void {
    this.#healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    this.#checkGroup(groupAddress, 'addSourceSpecificMembership');
  }

  /** Source-specific membership; validated only. */
  dropSourceSpecificMembership(sourceAddress: unknown, groupAddress: unknown, _interfaceAddress?: unknown): void {
    this.#healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    this.#checkGroup(groupAddress, 'dropSourceSpecificMembership');
  }

  #checkGroup(group: unknown, syscall: string): IpAddress {
    const address = typeof group === 'string' ? (this.type === 'udp6' ? toStackAddress(group) : toIpv4(group)) : null;
    const multicast = typeof address === 'number' ? address >>> 28 === 0xe : typeof address === 'string' && address.startsWith('ff');
    if (address === null || !multicast) throw errnoException('EINVAL', syscall);
    return address;
  }

  /** The stack's form of a resolved address: `udp4` takes IPv4 only; `udp6` IPv6 and, as ::ffff:a.b.c.d or bare, IPv4. */
  #stackAddress(ip: string): IpAddress | null {
    return this.type === 'udp6' ? toStackAddress(ip) : toIpv4(ip);
  }

  /** SO_RCVBUF as Linux sets it (doubled, capped by rmem_max). */
  setRecvBufferSize(size: number): void {
    this.#bufferSize(size, true);
  }

  /** SO_SNDBUF as Linux sets it (doubled, capped by wmem_max). */
  setSendBufferSize(size: number): void {
    this.#bufferSize(size, false);
  }

  /** SO_RCVBUF. */
  getRecvBufferSize(): number {
    return this.#bufferSize(0, true);
  }

  /** SO_SNDBUF. */
  getSendBufferSize(): number {
    return this.#bufferSize(0, false);
  }

  /** Bytes waiting to be sent: datagrams leave at once here. */
  getSendQueueSize(): number {
    return 0;
  }

  /** Datagrams waiting to be sent: none. */
  getSendQueueCount(): number {
    return 0;
  }

  #bufferSize(size: number, receive: boolean): number {
    if (size >>> 0 !== size) throw nodeErrors.badBufferSize();
    const handle = this.#handle;
    if (!handle || !handle.bound) throw socketBufferSizeError('EBADF', receive ? 'uv_recv_buffer_size' : 'uv_send_buffer_size');
    if (receive) {
      if (size > 0) handle.options.receiveBufferSize = Math.max(Math.min(size, RMEM_MAX) * 2, SOCK_MIN_RCVBUF);
      return handle.options.receiveBufferSize;
    }
    if (size > 0) this.#sendBuffer = Math.max(Math.min(size, WMEM_MAX) * 2, SOCK_MIN_SNDBUF);
    return this.#sendBuffer;
  }

  /** Keeps the event loop alive while bound (the default). */
  ref(): this {
    this.#referenced = true;
    this.#updateReference();
    return this;
  }

  /** Lets the process exit although the socket is open. */
  unref(): this {
    this.#referenced = false;
    this.#updateReference();
    return this;
  }

  #updateReference(): void {
    if (this.#handle && this.#receiving && this.#referenced) this.#context.loop.hold(this);
    else this.#context.loop.release(this);
  }

  /** `await using socket`: closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#handle) return;
    await new Promise<void>((resolve) => this.close(resolve));
  }

  /** The UDP socket underneath (ustack-specific: for inspection and tests). */
  get ustackSocket(): UdpSocket | null {
    return this.#handle;
  }
}

/** The `dgram` module of one stack. */
export interface DgramModule {
  /** The Socket class, callable without `new` as in Node. */
  readonly Socket: typeof DgramSocket & ((type: 'udp4' | DgramSocketOptions, listener?: (message: Buffer, rinfo: RemoteInfo) => void) => DgramSocket);
  /** A new UDP socket (`udp4`; `udp6` fails: ustack is IPv4 only). */
  createSocket(type: 'udp4' | 'udp6' | DgramSocketOptions, listener?: (message: Buffer, rinfo: RemoteInfo) => void): DgramSocket;
  /** The stack underneath (ustack-specific). */
  readonly stack: Stack;
}

/** Builds the `dgram` module of `stack` on a shared per-stack context (see node-modules.ts). */
export function createDgram(stack: Stack, context: NodeModuleContext = new NodeModuleContext(stack)): DgramModule {
  class Socket extends DgramSocket {
    static override [kContext] = context;
  }
  return {
    Socket: callableClass(Socket),
    createSocket: (type, listener) => new Socket(type, listener),
    stack,
  };
}
