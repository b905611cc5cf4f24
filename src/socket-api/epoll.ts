/**
 * epoll(7) for the Berkeley API: an interest list of descriptors and the events wanted, and a
 * wait that reports the ready ones. Level-triggered entries are reported while ready;
 * edge-triggered ones (EPOLLET) only after a wakeup of their socket — data arriving, room to
 * write after a writer ran short, the connection changing state — and then with everything
 * the socket is ready for, once (Linux's ready list: a wakeup queues the entry, a wait drains
 * it). EPOLLONESHOT disables an entry once reported until EPOLL_CTL_MOD. EPOLLEXCLUSIVE entries
 * of several instances share a wakeup: it stops at the first that woke a blocked epoll_wait.
 */
import { ErrnoError } from '../core/errno.js';
import * as C from './berkeley-constants.js';

/** What epoll_ctl registers and epoll_wait returns: the events and the user's data (`fd`, or any number). */
export interface EpollEvent {
  /** An OR of EPOLL* bits: wanted (and flags such as EPOLLET) in epoll_ctl, ready in epoll_wait. */
  readonly events: number;
  /** The caller's number, returned as given: usually the descriptor. */
  readonly data: number;
}

/** One registered descriptor. */
interface Interest {
  readonly fd: number;
  /** Added with EPOLLEXCLUSIVE (which then stays on it: EPOLL_CTL_MOD is EINVAL). */
  readonly exclusive: boolean;
  events: number;
  data: number;
  /** A wakeup happened since the last report (Linux: on the ready list). */
  woken: boolean;
  /** EPOLLONESHOT fired: silent until EPOLL_CTL_MOD. */
  disabled: boolean;
  /** Stops listening to the socket's wakeups. */
  unwatch: () => void;
}

/** How an epoll instance reaches the sockets it watches. */
export interface EpollHost {
  /** The poll() events `fd` is ready for among `events` (POLLERR and POLLHUP always count). */
  readiness(fd: number, events: number): number;
  /**
   * Calls `wake` at every wakeup of `fd` until the returned function is called; throws EBADF.
   * An `exclusive` watcher is called only until one of them returns true (it woke a waiter).
   */
  watch(fd: number, wake: () => boolean, exclusive: boolean): () => void;
}

/** EPOLLERR and EPOLLHUP are reported whether asked for or not (epoll_ctl(2)). */
const ALWAYS = C.EPOLLERR | C.EPOLLHUP;
/** The flags of `events` that are not events. */
const MODES = C.EPOLLET | C.EPOLLONESHOT | C.EPOLLEXCLUSIVE;
/** What an EPOLLEXCLUSIVE entry may ask for (Linux's EPOLLEXCLUSIVE_OK_BITS, less EPOLLWAKEUP, which ustack lacks). */
const EXCLUSIVE_OK = C.EPOLLIN | C.EPOLLOUT | C.EPOLLERR | C.EPOLLHUP | C.EPOLLET | C.EPOLLEXCLUSIVE;

/** One epoll instance (the object an epoll descriptor refers to). */
export class EpollInstance {
  private readonly interests = new Map<number, Interest>();
  /** Callbacks of epoll_wait calls blocked on this instance. */
  readonly waiters = new Set<() => void>();

  constructor(private readonly host: EpollHost) {}

  /** epoll_ctl(2). */
  control(operation: number, fd: number, event: EpollEvent | null): void {
    const existing = this.interests.get(fd);
    switch (operation) {
      case C.EPOLL_CTL_ADD: {
        if (existing) throw new ErrnoError('EEXIST', 'epoll_ctl');
        if (!event) throw new ErrnoError('EFAULT', 'epoll_ctl');
        const exclusive = (event.events & C.EPOLLEXCLUSIVE) !== 0;
        if (exclusive && (event.events & ~EXCLUSIVE_OK) !== 0) throw new ErrnoError('EINVAL', 'epoll_ctl');
        const interest: Interest = { fd, exclusive, events: event.events, data: event.data, woken: true, disabled: false, unwatch: () => {} };
        interest.unwatch = this.host.watch(
          fd,
          () => {
            // Queued on the ready list either way; an exclusive entry ends the wakeup only if
            // it woke a blocked epoll_wait (Linux's ep_poll_callback).
            interest.woken = true;
            const waiting = this.waiters.size > 0;
            for (const waiter of [...this.waiters]) waiter();
            return waiting;
          },
          exclusive,
        );
        this.interests.set(fd, interest);
        return;
      }
      case C.EPOLL_CTL_MOD:
        if (!existing) throw new ErrnoError('ENOENT', 'epoll_ctl');
        if (!event) throw new ErrnoError('EFAULT', 'epoll_ctl');
        // epoll_ctl(2): EPOLLEXCLUSIVE is for ADD only, and an exclusive entry cannot be modified.
        if ((event.events & C.EPOLLEXCLUSIVE) !== 0 || existing.exclusive) throw new ErrnoError('EINVAL', 'epoll_ctl');
        existing.events = event.events;
        existing.data = event.data;
        existing.woken = true;
        existing.disabled = false;
        return;
      case C.EPOLL_CTL_DEL:
        if (!existing) throw new ErrnoError('ENOENT', 'epoll_ctl');
        existing.unwatch();
        this.interests.delete(fd);
        return;
      default:
        throw new ErrnoError('EINVAL', 'epoll_ctl');
    }
  }

  /** Forgets a descriptor that was closed (as the kernel does when its last reference goes). */
  forget(fd: number): void {
    this.interests.get(fd)?.unwatch();
    this.interests.delete(fd);
  }

  /** The ready entries now, at most `max`; edge-triggered ones are consumed. */
  collect(max: number): EpollEvent[] {
    const ready: EpollEvent[] = [];
    for (const interest of this.interests.values()) {
      if (ready.length >= max) break;
      if (interest.disabled) continue;
      const edge = (interest.events & C.EPOLLET) !== 0;
      if (edge && !interest.woken) continue;
      interest.woken = false;
      const events = this.host.readiness(interest.fd, (interest.events & ~MODES) | ALWAYS);
      if (events === 0) continue;
      ready.push({ events, data: interest.data });
      if (interest.events & C.EPOLLONESHOT) interest.disabled = true;
    }
    return ready;
  }

  /** Closes the instance: stops watching every descriptor. */
  close(): void {
    for (const interest of this.interests.values()) interest.unwatch();
    this.interests.clear();
    for (const waiter of [...this.waiters]) waiter();
  }
}
