/** Test helper shared by the socket tests. */
import { ErrnoError } from '../../src/core/errno.js';

/** The errno code a call fails with (awaited if it returns a promise), or 'no error'. */
export async function errnoOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof ErrnoError) return error.code;
    throw error;
  }
  return 'no error';
}
