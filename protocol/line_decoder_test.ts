import assert from "node:assert/strict";
import { FrameTooLargeError, LineDecoder } from "./line_decoder.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (lines: Uint8Array[]) => lines.map((line) => new TextDecoder().decode(line));

Deno.test("LineDecoder yields the same frames whether data comes one byte or all at once", () => {
  const input = encode('{"a":1}\n{"b":"é"}\n\n{"c":3}\n{"partial"');
  const whole = new LineDecoder();
  const allAtOnce = decode(whole.push(input));
  const bytewise = new LineDecoder();
  const oneByOne: string[] = [];
  for (const byte of input) oneByOne.push(...decode(bytewise.push(new Uint8Array([byte]))));
  assert.deepEqual(allAtOnce, ['{"a":1}', '{"b":"é"}', "", '{"c":3}']);
  assert.deepEqual(oneByOne, allAtOnce);
  assert.equal(whole.pendingBytes, '{"partial"'.length);
  assert.deepEqual(decode(whole.push(encode("}\n"))), ['{"partial"}']);
});

Deno.test("LineDecoder copies the tail, so a reused read buffer cannot change it", () => {
  const decoder = new LineDecoder();
  const buffer = encode("abc");
  decoder.push(buffer);
  buffer.set(encode("xyz"));
  assert.deepEqual(decode(decoder.push(encode("\n"))), ["abc"]);
});

Deno.test("LineDecoder refuses a frame over the limit, newline included, in one piece or many", () => {
  assert.deepEqual(decode(new LineDecoder(4).push(encode("abc\n"))), ["abc"]);
  assert.throws(() => new LineDecoder(4).push(encode("abcd\n")), FrameTooLargeError);
  const pieces = new LineDecoder(4);
  pieces.push(encode("ab"));
  assert.throws(() => pieces.push(encode("cd")), FrameTooLargeError);
});
