/**
 * The kernel's side of a TUN/TAP device, configured with iproute2: network namespaces, the
 * device's MTU and state, addresses and routes. Every change is undone on `close()` — and, for
 * whatever is still open, when the process exits or gets SIGINT/SIGTERM — so a crashed run
 * leaves no namespace or address behind.
 *
 * A device moved into a namespace (`ip link set dev X netns NS`) stays attached to the fd that
 * created it: the process keeps the fd in its own namespace while the kernel's end of the link
 * (addresses, routes, the programs that talk to us) lives inside NS.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';

/** A route on the kernel's side: `{ destination: '10.1.0.0/16', via: '10.77.0.2' }`. */
export interface KernelRoute {
  /** The prefix routed, as `ip route add` takes it: `10.1.0.0/16`, `default`. */
  readonly destination: string;
  /** The next hop's address; absent for a route straight onto the device. */
  readonly via?: string;
}

/** How to configure the kernel's side of a device. */
export interface DeviceConfig {
  /** The device's name (TunLink.name). */
  readonly name: string;
  /** Move the device into this network namespace first (created with createNamespace). */
  readonly netns?: string;
  /** `ip link set dev X mtu N`. */
  readonly mtu?: number;
  /** `ip link set dev X txqueuelen N`: packets the kernel holds for us to read (default 500). */
  readonly txQueueLength?: number;
  /** Addresses for the kernel's end, `10.77.0.1/24`. */
  readonly addresses?: readonly string[];
  /** Routes through the device. */
  readonly routes?: readonly KernelRoute[];
  /** Bring the device up (default true). */
  readonly up?: boolean;
  /** Keep IPv6 on the device (default off: the kernel's router solicitations and MLD reports would reach an IPv4-only stack as noise). */
  readonly ipv6?: boolean;
}

/** Runs `ip ARGS…` (inside `netns` when given); throws with iproute2's own message on failure. */
export function ip(args: readonly string[], netns?: string): string {
  const full = netns ? ['-n', netns, ...args] : [...args];
  const options: ExecFileSyncOptions = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 };
  try {
    return execFileSync('ip', full, options) as string;
  } catch (error) {
    const failure = error as { stderr?: string; code?: string; message: string };
    if (failure.code === 'ENOENT') throw new Error('`ip` (iproute2) is not installed: apt-get install iproute2', { cause: error });
    const reason = (failure.stderr ?? '').trim() || failure.message;
    const advice = /Operation not permitted/.test(reason) ? ' (run as root or give CAP_NET_ADMIN)' : '';
    throw new Error(`ip ${full.join(' ')}: ${reason}${advice}`, { cause: error });
  }
}

/** Undo steps of everything still configured, run on exit and on SIGINT/SIGTERM. */
const pendingCleanups = new Set<() => void>();
let exitHooksInstalled = false;

function runPendingCleanups(): void {
  for (const cleanup of [...pendingCleanups].reverse()) {
    pendingCleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort while exiting: the device may already be gone with its fd.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runPendingCleanups();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  process.removeListener('exit', runPendingCleanups);
  exitHooksInstalled = false; // configurations made after this (if the process goes on) install them again
  // Nobody else handles it: die of the signal as we would have without our handler.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function registerCleanup(cleanup: () => void): () => void {
  if (!exitHooksInstalled) {
    exitHooksInstalled = true;
    process.on('exit', runPendingCleanups);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  pendingCleanups.add(cleanup);
  return () => pendingCleanups.delete(cleanup);
}

/** Something configured that `close()` undoes. */
export interface Configured {
  /** Undoes the configuration (idempotent; never throws). */
  close(): void;
}

/** A network namespace made with `ip netns add`; deleted on close. */
export interface Namespace extends Configured {
  /** The namespace's name, as `ip netns` lists it. */
  readonly name: string;
  /** The argument list prefix that runs a command inside: `['ip', 'netns', 'exec', NAME]`. */
  readonly execPrefix: readonly string[];
}

/**
 * Creates network namespace `name` (its loopback up, IPv6 off unless asked: the kernel's router
 * solicitations would otherwise reach an IPv4-only stack as noise). Deleted on close or exit.
 */
export function createNamespace(name: string, options: { ipv6?: boolean } = {}): Namespace {
  ip(['netns', 'add', name]);
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    unregister();
    try {
      ip(['netns', 'del', name]);
    } catch {
      // Already gone.
    }
  };
  const unregister = registerCleanup(close);
  try {
    ip(['link', 'set', 'dev', 'lo', 'up'], name);
    if (!options.ipv6) {
      for (const scope of ['all', 'default']) {
        execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', `net.ipv6.conf.${scope}.disable_ipv6=1`], { stdio: 'ignore', timeout: 10_000 });
      }
    }
  } catch (error) {
    close();
    throw error;
  }
  return { name, execPrefix: ['ip', 'netns', 'exec', name], close };
}

/**
 * Configures the kernel's side of device `config.name`: moves it into `netns`, sets the MTU,
 * adds addresses, brings it up, adds routes. `close()` undoes it all in reverse order.
 */
export function configureDevice(config: DeviceConfig): Configured {
  const undo: Array<() => void> = [];
  const netns = config.netns;
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    unregister();
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // The device may be gone already (its fd closed): nothing left to undo.
      }
    }
  };
  const unregister = registerCleanup(close);
  try {
    if (netns) {
      ip(['link', 'set', 'dev', config.name, 'netns', netns]);
      // Back to the namespace of process 1 (the root one), where the fd's owner created it.
      undo.push(() => ip(['link', 'set', 'dev', config.name, 'netns', '1'], netns));
    }
    if (config.mtu !== undefined) ip(['link', 'set', 'dev', config.name, 'mtu', String(config.mtu)], netns);
    if (config.txQueueLength !== undefined) ip(['link', 'set', 'dev', config.name, 'txqueuelen', String(config.txQueueLength)], netns);
    // IPv6 on the device or not, before any address: a namespace may start devices with it off.
    const sysctl = ['sysctl', '-qw', `net.ipv6.conf.${config.name}.disable_ipv6=${config.ipv6 ? 0 : 1}`];
    try {
      execFileSync(netns ? 'ip' : sysctl[0], netns ? ['netns', 'exec', netns, ...sysctl] : sysctl.slice(1), { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Best effort: a kernel without IPv6 has nothing to turn off (and an address added then says so).
    }
    for (const address of config.addresses ?? []) {
      // An IPv6 address without duplicate address detection: on a point-to-point TUN nobody
      // else can hold it, and DAD would leave it tentative (unusable) for a second or more.
      ip(['addr', 'add', address, 'dev', config.name, ...(address.includes(':') ? ['nodad'] : [])], netns);
      undo.push(() => ip(['addr', 'del', address, 'dev', config.name], netns));
    }
    if (config.up !== false) {
      ip(['link', 'set', 'dev', config.name, 'up'], netns);
      undo.push(() => ip(['link', 'set', 'dev', config.name, 'down'], netns));
    }
    for (const route of config.routes ?? []) {
      const args = ['route', 'add', route.destination, ...(route.via ? ['via', route.via] : []), 'dev', config.name];
      ip(args, netns);
      undo.push(() => ip(['route', 'del', route.destination, 'dev', config.name], netns));
    }
  } catch (error) {
    close();
    throw error;
  }
  return { close };
}
