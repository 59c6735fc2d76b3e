import assert from "node:assert/strict";
import { pasteParts } from "./paste.ts";

Deno.test("pasteParts() splits pasted text at line ends, CR, LF or CRLF", () => {
  assert.deepEqual(pasteParts("hello world"), [{ text: "hello world" }]);
  assert.deepEqual(pasteParts("one\rtwo\r\nthree\n"), [
    { text: "one", key: "\r" },
    { text: "two", key: "\r" },
    { text: "three", key: "\r" },
  ]);
  assert.deepEqual(pasteParts("a b\n\n"), [{ text: "a b", key: "\r" }, { text: "", key: "\r" }]);
  const long = "x".repeat(5000);
  assert.deepEqual(pasteParts(long), [{ text: long }]);
});

Deno.test("pasteParts() keeps a tab a key, so text and Tab arriving together complete", () => {
  assert.deepEqual(pasteParts("@b\t"), [{ text: "@b", key: "\t" }]);
  assert.deepEqual(pasteParts("/ms\tb\t"), [{ text: "/ms", key: "\t" }, {
    text: "b",
    key: "\t",
  }]);
});

Deno.test("pasteParts() leaves keys and escape sequences to readline", () => {
  for (const chunk of ["a", "\t", "\r", "\x1b[A", "\x1b[200~hi", "hi\x03", "\x7f\x7f", "ab\x04"]) {
    assert.equal(pasteParts(chunk), null, JSON.stringify(chunk));
  }
});
