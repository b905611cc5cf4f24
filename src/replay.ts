/**
 * `ustack/replay`: replay a capture into ustack from a test suite (vitest, node:test) and get
 * every way ustack's answers differ from the captured host's (docs/replay.md).
 *
 * ```ts
 * const result = await replayCapture('bug.pcap', { host: '10.0.0.2', linux: true });
 * assert.deepEqual(result.divergences.map((d) => d.message), []);
 * ```
 *
 * This file only re-exports.
 *
 * @module ustack/replay
 */
export {
  replayCapture,
  inferSockets,
  inferDatagramSockets,
  ReplayError,
  LINUX_REPLAY_CONFIG,
  type ReplayOptions,
  type ReplayResult,
  type ReplayedConversation,
  type ConversationSockets,
  type TimedCall,
  type ApplicationCall,
  type DecodedSegment,
  type Divergence,
  type DivergenceKind,
  type ReplayTolerances,
  type ReplayedDatagrams,
  type DatagramSocket,
  type DatagramSend,
  type DecodedDatagram,
} from './replay/replay.js';
