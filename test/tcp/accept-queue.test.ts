import { describe, expect, it } from 'vitest';
import { AcceptQueue } from '../../src/tcp/accept-queue.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

/** Stand-ins for connections: the queue only holds and compares them. */
const connections = Array.from({ length: 300 }, (_, index) => ({ index }) as unknown as TcpConnection);

describe('the accept queue', () => {
  it('gives connections back oldest first, across compactions, and null when empty', () => {
    const queue = new AcceptQueue();
    expect(queue.take()).toBe(null);
    for (const connection of connections.slice(0, 200)) queue.push(connection);
    for (let index = 0; index < 150; index++) expect(queue.take()).toBe(connections[index]);
    for (const connection of connections.slice(200)) queue.push(connection);
    expect(queue.length).toBe(150);
    expect(queue.at(0)).toBe(connections[150]);
    expect(queue.at(149)).toBe(connections[299]);
    expect(queue.at(150)).toBe(undefined);
    expect([...queue]).toEqual(connections.slice(150));
    for (let index = 150; index < 300; index++) expect(queue.take()).toBe(connections[index]);
    expect(queue.length).toBe(0);
    expect(queue.take()).toBe(null);
  });

  it('removes a connection from the middle (reset before accept) and finds by predicate', () => {
    const queue = new AcceptQueue();
    for (const connection of connections.slice(0, 5)) queue.push(connection);
    expect(queue.take()).toBe(connections[0]);
    expect(queue.remove(connections[0])).toBe(false);
    expect(queue.remove(connections[2])).toBe(true);
    expect([...queue]).toEqual([connections[1], connections[3], connections[4]]);
    expect(queue.find((c) => c === connections[3])).toBe(connections[3]);
    expect(queue.find((c) => c === connections[2])).toBe(undefined);
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.take()).toBe(null);
  });
});
