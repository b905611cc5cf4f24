/**
 * A listener's accept queue: connections whose handshake completed, oldest first, until accept
 * takes them. A queue, not an array's shift: shift moves every connection behind the first one,
 * so draining a backlog of n (listen's backlog goes to 65535) cost O(n²).
 */
import type { TcpConnection } from './connection.js';

/** First-in first-out connections: push and take in O(1), amortized. */
export class AcceptQueue implements Iterable<TcpConnection> {
  /** The connections, the taken ones before `#head` cleared to undefined until the next compaction. */
  #items: (TcpConnection | undefined)[] = [];
  #head = 0;

  /** How many connections wait. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds a connection at the end. */
  push(connection: TcpConnection): void {
    this.#items.push(connection);
  }

  /** Takes the oldest connection, or null when none waits. */
  take(): TcpConnection | null {
    if (this.#head === this.#items.length) return null;
    const connection = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      // Drop the taken slots once they are half the array: each compaction moves at most as many
      // connections as were taken since the last one.
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return connection;
  }

  /** The connection `index` places from the oldest, or undefined. */
  at(index: number): TcpConnection | undefined {
    return index >= 0 && index < this.length ? this.#items[this.#head + index] : undefined;
  }

  /** Removes a connection wherever it waits (it was reset or closed before accept); false when it is not here. */
  remove(connection: TcpConnection): boolean {
    const index = this.#items.indexOf(connection, this.#head);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** The first waiting connection that `predicate` accepts, oldest first, or undefined. */
  find(predicate: (connection: TcpConnection) => boolean): TcpConnection | undefined {
    for (const connection of this) if (predicate(connection)) return connection;
    return undefined;
  }

  /** Forgets every waiting connection. */
  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
  }

  /** The waiting connections, oldest first. */
  *[Symbol.iterator](): Iterator<TcpConnection> {
    for (let index = this.#head; index < this.#items.length; index++) yield this.#items[index]!;
  }
}
