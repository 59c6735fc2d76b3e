/**
 * Every server frame fits the frame limit by construction: the worst case of
 * each field the server accepts, encoded as the server sends it, stays within
 * MAX_FRAME_BYTES (SPEC section 3, "Nobody can lock anyone out").
 */

import assert from "node:assert/strict";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  encodeServerFrame,
  FrameTooLongError,
  ProtocolError,
  type ServerFrame,
  usersReplies,
} from "./frames.ts";
import {
  ENCRYPTION_KEY_BYTES,
  MAX_CERTIFICATE_BYTES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CHARS,
  MAX_PAYLOAD_BYTES,
  MAX_SIGNATURE_CHARS,
  SIGNATURE_BYTES,
} from "./limits.ts";
import { MAX_NAME_LENGTH } from "./names.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const utf8 = (text: string) => bytes(text).byteLength;
const BIG = Number.MAX_SAFE_INTEGER;
const NAME = "W".repeat(MAX_NAME_LENGTH);
const b64 = (n: number) => "A".repeat(Math.ceil((n * 4) / 3));

/** Inputs that cost the most once JSON-encoded: escapes and lone surrogates. */
const WORST_TEXTS = ["\u0001", "\ud800", '"', "\\", "😀", "\u2028"].map((c) =>
  c.repeat(MAX_MESSAGE_CHARS)
);
/** The worst payloads the server accepts: all quotes or all backslashes (each escaped). */
const WORST_PAYLOADS = ['"', "\\", "x"].map((c) => c.repeat(MAX_PAYLOAD_BYTES / 2));

function accepted(frame: Record<string, unknown>) {
  return decodeClientFrame(bytes(JSON.stringify(frame)));
}

Deno.test("the worst public message the server accepts fits a frame on the way out", () => {
  for (const text of WORST_TEXTS) {
    const signature = '"'.repeat(MAX_SIGNATURE_CHARS);
    const frame = accepted({ type: "public", id: BIG, text, signature });
    assert.equal(frame.type, "public");
    if (frame.type !== "public") continue;
    const out: ServerFrame = {
      type: "public",
      re: BIG,
      id: BIG,
      time: BIG,
      from: NAME,
      text: frame.text,
      signature: frame.signature,
    };
    const line = encodeServerFrame(out);
    assert.ok(utf8(line) <= MAX_FRAME_BYTES, `${JSON.stringify(text[0])}: ${utf8(line)} bytes`);
    assert.deepEqual(decodeServerFrame(bytes(line.trimEnd())), out);
  }
});

Deno.test("the worst private payload the server accepts fits a frame on the way out", () => {
  for (const payload of WORST_PAYLOADS) {
    const frame = accepted({ type: "private", id: BIG, to: NAME, payload });
    assert.equal(frame.type, "private");
    if (frame.type !== "private") continue;
    const line = encodeServerFrame({
      type: "private",
      re: BIG,
      id: BIG,
      time: BIG,
      from: NAME,
      to: NAME,
      payload: frame.payload,
    });
    assert.ok(utf8(line) <= MAX_FRAME_BYTES, `${utf8(line)} bytes`);
  }
});

Deno.test("a private payload is counted as encoded: escapes and control characters refused", () => {
  const cases: Array<[string, string]> = [
    // The attack of issue 8: 10,914 control characters, 65,516 bytes inbound.
    ["\u0001".repeat(10_914), "invalid_format"],
    ["é", "invalid_format"],
    ['"'.repeat(MAX_PAYLOAD_BYTES / 2 + 1), "too_long"],
    ["x".repeat(MAX_PAYLOAD_BYTES + 1), "too_long"],
  ];
  for (const [payload, code] of cases) {
    assert.throws(
      () => accepted({ type: "private", id: 1, to: "sam", payload }),
      (error: unknown) => error instanceof ProtocolError && error.code === code,
      `${JSON.stringify(payload.slice(0, 3))}... should be ${code}`,
    );
  }
});

Deno.test("the largest keys reply fits a frame", () => {
  const line = encodeServerFrame({
    type: "keys",
    re: BIG,
    name: NAME,
    certificate: b64(MAX_CERTIFICATE_BYTES),
    encryption_key: b64(ENCRYPTION_KEY_BYTES),
    binding: b64(SIGNATURE_BYTES),
  });
  assert.ok(utf8(line) <= MAX_FRAME_BYTES);
});

Deno.test("usersReplies() splits any number of longest names into frames that fit", () => {
  const names = Array.from(
    { length: 10_000 },
    (_, i) => NAME.slice(0, -6) + String(i).padStart(6, "0"),
  );
  const replies = usersReplies(BIG, names);
  assert.ok(replies.length > 1);
  const received: string[] = [];
  for (const [i, reply] of replies.entries()) {
    const line = encodeServerFrame(reply);
    const decoded = decodeServerFrame(bytes(line.trimEnd()));
    assert.ok(decoded.type === "users");
    assert.equal(decoded.more, i < replies.length - 1 ? true : undefined);
    received.push(...decoded.names);
  }
  assert.deepEqual(received, names);
  assert.deepEqual(usersReplies(1, []), [{ type: "users", re: 1, names: [] }]);
});

Deno.test("encodeServerFrame() refuses a frame over the limit, counted in UTF-8 bytes", () => {
  // 22,000 three-byte characters: 22,000 UTF-16 units, 66,000 bytes.
  const frame: ServerFrame = {
    type: "public",
    id: 1,
    time: 1,
    from: "sam",
    text: "€".repeat(22_000),
    signature: "s",
  };
  assert.ok(encodeFrame(frame).length < MAX_FRAME_BYTES);
  assert.throws(() => encodeServerFrame(frame), FrameTooLongError);
});

Deno.test("a NUL in a text, or anything but printable ASCII in a signature, is refused", () => {
  // SQLite reads text back only up to a NUL: "hi\0evil" would be stored as "hi", and an
  // empty signature in everyone's history.
  for (
    const frame of [
      { type: "public", id: 1, text: "hi\u0000evil", signature: "s" },
      { type: "public", id: 1, text: "hi", signature: "\u0000" },
      { type: "public", id: 1, text: "hi", signature: "é" },
    ]
  ) {
    assert.throws(
      () => accepted(frame),
      (error: unknown) => error instanceof ProtocolError && error.code === "invalid_format",
      JSON.stringify(frame),
    );
  }
});

Deno.test("a stored message the client could not verify still decodes: it costs a warning, not the connection", () => {
  for (const [text, signature] of [["", ""], ["hi", ""], ["\u0001", "\u0000"]]) {
    const line = JSON.stringify({ type: "public", id: 1, time: 1, from: "sam", text, signature });
    const frame = decodeServerFrame(bytes(line));
    assert.ok(frame.type === "public" && frame.text === text && frame.signature === signature);
  }
});
