/**
 * The native TUN/TAP addon (native/tun.c), loaded lazily: ustack installs and runs without it,
 * and says once, clearly, that it is missing only when a TUN or TAP link is asked for.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opened device, as the addon returns it. */
export interface NativeDevice {
  /** Opaque handle for the other calls. */
  readonly handle: unknown;
  /** The device's name (the kernel's choice when none was asked for). */
  readonly name: string;
}

/** The addon's functions (see the header comment of native/tun.c). */
export interface NativeTunAddon {
  /**
   * Opens /dev/net/tun and attaches it to device `name` ('' lets the kernel choose). With
   * `offload`, packets both ways carry a 10-byte virtio_net_hdr (checksum and TCPv4
   * segmentation offload). Throws errno-shaped errors.
   */
  open(name: string, tap: boolean, multiQueue: boolean, offload: boolean): NativeDevice;
  /**
   * Starts watching the fd. `onPackets(buffer, count)` gets a batch: packet i is
   * `buffer[ends[i-1] ?? 0 .. ends[i])`. A read error arrives as `onPackets(null, -errno)`.
   * With `batch` (at least 65600 bytes; `batchBytes` fill it best) every batch is read into that
   * memory and `buffer` is `batch` itself, lent for the call: the next batch overwrites it.
   * Without, `buffer` is memory of its own per batch.
   */
  start(handle: unknown, onPackets: (buffer: Uint8Array | null, count: number) => void, onWritable: () => void, ends: Int32Array, batch?: Uint8Array): void;
  /**
   * Writes one packet after `header`, its virtio_net_hdr (empty without offload): the bytes
   * written, header included, or -errno (-EAGAIN: wait for writable and retry).
   */
  write(handle: unknown, header: Uint8Array, packet: Uint8Array): number;
  /** Asks for one onWritable call when the fd can take a write again. */
  wantWritable(handle: unknown, yes: boolean): void;
  /** Whether the watching keeps Node's event loop alive (default yes). */
  setRef(handle: unknown, yes: boolean): void;
  /** Stops watching and closes the fd; the device disappears unless persistent. */
  close(handle: unknown): void;
  /**
   * On a multi-queue device: the kernel picks the queue of each packet it sends us as
   * `queueForPorts` (tun.ts) of its source and destination ports for TCP and UDP, queue 0 for the rest
   * (an eBPF steering program; `linkHeaderLength` 14 on a TAP, 0 on a TUN).
   */
  steerByPorts(handle: unknown, linkHeaderLength: number): void;
  /** Most packets handed over in one batch. */
  readonly maxBatch: number;
  /** The bytes a `batch` given to `start` is read into at most (absent: an addon without `batch`). */
  readonly batchBytes?: number;
}

const ADDON_FILE = join('native', 'build', 'Release', 'ustack_tun.node');

let cached: NativeTunAddon | null = null;
let failure: Error | null = null;

/** Finds the addon above this module (src/link/ when run from source, dist/src/link/ when built). */
function findAddon(): string | null {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return null;
}

/**
 * The addon, loaded on first use. Throws (the same error every time) when it is not built or
 * cannot be loaded, with what to do about it.
 */
export function loadNativeTun(): NativeTunAddon {
  if (cached) return cached;
  if (failure) throw failure;
  if (process.platform !== 'linux') {
    failure = new Error(`TUN/TAP devices need Linux; this is ${process.platform}. Use the virtual network (VirtualNetwork) instead.`);
    throw failure;
  }
  const path = findAddon();
  if (path === null) {
    failure = new Error(
      `the TUN/TAP addon is not built (${ADDON_FILE} is missing): run \`node native/build.mjs\` ` +
        '(needs python3, make, a C compiler and node headers); `npm ci` tries this and goes on without it',
    );
    throw failure;
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeTunAddon;
    return cached;
  } catch (error) {
    failure = new Error(`the TUN/TAP addon at ${path} does not load (${(error as Error).message}): rebuild it with \`node native/build.mjs\``, {
      cause: error,
    });
    throw failure;
  }
}

/** Whether the addon is available (without throwing). */
export function nativeTunAvailable(): boolean {
  try {
    loadNativeTun();
    return true;
  } catch {
    return false;
  }
}
