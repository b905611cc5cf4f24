/**
 * The argument forms of `dgram.Socket#send`: a Buffer, TypedArray, DataView or string, an
 * array of them (one datagram), or a slice given by offset and length — checked and turned
 * into byte views exactly as Node does, with Node's errors.
 */
import { codedError, invalidArgType, nodeErrors, validateNumber } from './node-errors.js';

/** Node's validateUint32 for the buffer-size options. */
export function validateUint32(value: unknown, name: string): void {
  validateNumber(value, name);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw codedError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0 && <= 4294967295. Received ${String(value)}`, RangeError);
  }
}

/** A Buffer over the same bytes as `view`. */
export function viewBytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** `msg` with `offset` and `length` applied (ERR_BUFFER_OUT_OF_BOUNDS past its end). */
export function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Buffer {
  let view: ArrayBufferView;
  if (typeof buffer === 'string') view = Buffer.from(buffer);
  else if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
  else view = buffer;
  const start = Number(offset) >>> 0;
  const count = Number(length) >>> 0;
  if (start > view.byteLength) throw nodeErrors.bufferOutOfBounds('offset');
  if (start + count > view.byteLength) throw nodeErrors.bufferOutOfBounds('length');
  return Buffer.from(view.buffer, view.byteOffset + start, count);
}

/** An array of chunks as byte views, or null if one is not a string or a view. */
export function fixBufferList(list: readonly unknown[]): Uint8Array[] | null {
  const fixed: Uint8Array[] = [];
  for (const item of list) {
    if (typeof item === 'string') fixed.push(Buffer.from(item));
    else if (!ArrayBuffer.isView(item)) return null;
    else fixed.push(viewBytes(item));
  }
  return fixed;
}
