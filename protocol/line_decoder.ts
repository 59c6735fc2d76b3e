/**
 * Framing: splits a byte stream into newline-terminated frames of at most
 * MAX_FRAME_BYTES. TLS hands data over in arbitrary pieces, so the decoder
 * keeps the partial tail between calls and never grows past the limit.
 */

import { MAX_FRAME_BYTES } from "./limits.ts";

export class FrameTooLargeError extends Error {
  override name = "FrameTooLargeError";
}

export class LineDecoder {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  readonly #maxBytes: number;

  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Returns the complete lines in `chunk` (without their "\n"), keeping any
   * unterminated tail for the next call. Throws FrameTooLargeError when a line
   * would exceed the limit; the decoder must then be discarded.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end === -1) break;
      const piece = chunk.subarray(start, end);
      if (this.#pendingBytes + piece.byteLength + 1 > this.#maxBytes) {
        throw new FrameTooLargeError("frame too large");
      }
      lines.push(this.#take(piece));
      start = end + 1;
    }
    const tail = chunk.subarray(start);
    if (tail.byteLength > 0) {
      if (this.#pendingBytes + tail.byteLength + 1 > this.#maxBytes) {
        throw new FrameTooLargeError("frame too large");
      }
      // Copy: the caller may reuse its buffer.
      this.#pending.push(tail.slice());
      this.#pendingBytes += tail.byteLength;
    }
    return lines;
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  #take(last: Uint8Array): Uint8Array {
    if (this.#pending.length === 0) return last;
    const line = new Uint8Array(this.#pendingBytes + last.byteLength);
    let offset = 0;
    for (const part of this.#pending) {
      line.set(part, offset);
      offset += part.byteLength;
    }
    line.set(last, offset);
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }
}
