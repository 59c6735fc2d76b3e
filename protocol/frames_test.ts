import assert from "node:assert/strict";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeEcho,
  encodeFrame,
  ProtocolError,
} from "./frames.ts";
import type { ClientFrame, PrivateMessage, PublicMessage, ServerFrame } from "./frames.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const KEY = "A".repeat(58) + "A"; // 44 bytes of base64url
const SIG = "B".repeat(85) + "A"; // 64 bytes

Deno.test("decodeClientFrame() round-trips every client frame type", () => {
  const frames: ClientFrame[] = [
    { type: "hello", versions: [2] },
    { type: "register", id: 1, name: "sam", encryption_key: KEY, binding: SIG },
    { type: "keys", id: 6, name: "sam" },
    { type: "login", id: 2, name: "Erik_2-x" },
    { type: "users", id: 3 },
    { type: "public", id: 4, text: "hi \t there", signature: "{}" },
    { type: "private", id: 5, to: "sam", payload: "opaque" },
    { type: "exit" },
  ];
  for (const frame of frames) {
    assert.deepEqual(decodeClientFrame(bytes(encodeFrame(frame).trimEnd())), frame);
  }
});

Deno.test("decodeServerFrame() round-trips every server frame type", () => {
  const frames: ServerFrame[] = [
    { type: "hello", version: 2 },
    { type: "ok", re: 1, status: "registered" },
    { type: "error", code: "malformed" },
    { type: "error", re: 2, code: "user_not_found" },
    { type: "users", re: 3, names: ["a", "b"] },
    { type: "public", id: 9, time: 0, from: "sam", text: "x", signature: "s" },
    { type: "keys", re: 6, name: "sam", certificate: "MIIB", encryption_key: KEY, binding: SIG },
    { type: "private", re: 4, id: 10, time: 1, from: "sam", to: "erik", payload: "p" },
    { type: "history_end", re: 5 },
    { type: "presence", name: "sam", event: "joined" },
    { type: "presence", name: "sam", event: "left" },
  ];
  for (const frame of frames) {
    assert.deepEqual(decodeServerFrame(bytes(encodeFrame(frame).trimEnd())), frame);
  }
});

Deno.test("decodeClientFrame() refuses bad frames with the code the server answers", () => {
  const cases: Array<[string | Uint8Array, string]> = [
    ["", "malformed"],
    ["not json", "malformed"],
    ["[]", "malformed"],
    ["null", "malformed"],
    ['"hello"', "malformed"],
    ['{"type":"shout","id":1}', "malformed"],
    ['{"type":"users"}', "malformed"],
    ['{"type":"users","id":0}', "malformed"],
    ['{"type":"users","id":1.5}', "malformed"],
    ['{"type":"users","id":"1"}', "malformed"],
    ['{"type":"users","id":9007199254740992}', "malformed"],
    ['{"type":"hello","versions":[]}', "malformed"],
    ['{"type":"hello","versions":"1"}', "malformed"],
    ['{"type":"login","id":1,"name":""}', "invalid_format"],
    ['{"type":"login","id":1,"name":"a/../b"}', "invalid_format"],
    ['{"type":"login","id":1,"name":"' + "a".repeat(33) + '"}', "invalid_format"],
    ['{"type":"login","id":1,"name":["sam"]}', "invalid_format"],
    ['{"type":"public","id":1,"text":"","signature":"s"}', "invalid_format"],
    ['{"type":"public","id":1,"text":7,"signature":"s"}', "invalid_format"],
    ['{"type":"public","id":1,"text":"x"}', "invalid_format"],
    ['{"type":"public","id":1,"text":"x","signature":"' + "s".repeat(1025) + '"}', "too_long"],
    ['{"type":"public","id":1,"text":"' + "x".repeat(2001) + '","signature":"s"}', "too_long"],
    [`{"type":"register","id":1,"name":"sam","encryption_key":"${KEY}"}`, "invalid_format"],
    [
      `{"type":"register","id":1,"name":"sam","encryption_key":"${KEY}A","binding":"${SIG}"}`,
      "invalid_format",
    ],
    [
      `{"type":"register","id":1,"name":"sam","encryption_key":"${KEY}","binding":"${
        SIG.slice(1)
      }"}`,
      "invalid_format",
    ],
    [
      `{"type":"register","id":1,"name":"sam","encryption_key":"${KEY}","binding":"${
        SIG.slice(0, -1)
      }B"}`,
      "invalid_format",
    ],
    ['{"type":"private","id":1,"to":"sam","payload":"' + "x".repeat(40000) + '"}', "too_long"],
    [new Uint8Array([0x7b, 0xff, 0x7d]), "malformed"],
  ];
  for (const [input, code] of cases) {
    const line = typeof input === "string" ? bytes(input) : input;
    assert.throws(
      () => decodeClientFrame(line),
      (error: unknown) => error instanceof ProtocolError && error.code === code,
      `${String(input).slice(0, 60)} should be ${code}`,
    );
  }
});

Deno.test("decodeServerFrame() refuses unknown error codes, statuses and bad names", () => {
  for (
    const input of [
      '{"type":"error","code":"oops"}',
      '{"type":"ok","re":1,"status":"maybe"}',
      '{"type":"users","re":1,"names":["a b"]}',
      '{"type":"public","id":1,"time":-1,"from":"sam","text":"x"}',
      '{"type":"public","id":1,"time":0,"from":"\\u001b[2J","text":"x"}',
      '{"type":"presence","name":"sam","event":"waved"}',
      '{"type":"presence","name":"\\u001b]0;pwned\\u0007","event":"joined"}',
    ]
  ) {
    assert.throws(() => decodeServerFrame(bytes(input)), ProtocolError, input);
  }
});

Deno.test("a message of 2000 characters counts code points, not UTF-16 units", () => {
  const emoji = "😀".repeat(2000); // 4000 UTF-16 units
  const frame = decodeClientFrame(
    bytes(JSON.stringify({ type: "public", id: 1, text: emoji, signature: "s" })),
  );
  assert.equal(frame.type, "public");
});

Deno.test("decodeServerFrame() reads a time of -0 as 0, so frames survive a round trip", () => {
  const frame = decodeServerFrame(
    bytes('{"type":"public","id":1,"time":-0,"from":"sam","text":"x","signature":"s"}'),
  );
  assert.ok(frame.type === "public" && Object.is(frame.time, 0));
});

Deno.test("encodeEcho() makes what encoding the frame with its `re` makes", () => {
  const frames: (PublicMessage | PrivateMessage)[] = [
    { type: "public", id: 7, time: 0, from: "sam", text: 'a "quoted" }\n', signature: "{}" },
    { type: "private", id: 8, time: 1, from: "sam", to: "erik", payload: "opaque" },
  ];
  for (const frame of frames) {
    assert.equal(encodeEcho(encodeFrame(frame), 42), encodeFrame({ ...frame, re: 42 }));
  }
});
