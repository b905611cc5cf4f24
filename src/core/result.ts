/**
 * A value or an error, never a throw. Codecs return this for untrusted input so that a
 * malformed packet becomes a counted drop instead of an exception.
 */
export type Result<T, E> =
  | {
      /** True: the call succeeded. */
      readonly ok: true;
      /** What the call produced. */
      readonly value: T;
    }
  | {
      /** False: the call failed. */
      readonly ok: false;
      /** Why it failed. */
      readonly error: E;
    };

/** A successful result. */
export function ok<T>(value: T): {
  /** True: the call succeeded. */
  readonly ok: true;
  /** What the call produced. */
  readonly value: T;
} {
  return { ok: true, value };
}

/** A failed result. */
export function fail<E>(error: E): {
  /** False: the call failed. */
  readonly ok: false;
  /** Why it failed. */
  readonly error: E;
} {
  return { ok: false, error };
}

/**
 * The value of a successful result; throws with the error otherwise. For code where failure is a
 * programming error (tests, examples), never for handling untrusted input.
 */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`unexpected failure: ${String(result.error)}`);
  return result.value;
}
