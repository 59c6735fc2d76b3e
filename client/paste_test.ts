import assert from "node:assert/strict";
import { pasteParts } from "./paste.ts";

Deno.test("pasteParts() splits pasted text at line ends, CR, LF or CRLF", () => {
  assert.deepEqual(pasteParts("hello world"), [{ text: "hello world", enter: false }]);
  assert.deepEqual(pasteParts("one\rtwo\r\nthree\n"), [
    { text: "one", enter: true },
    { text: "two", enter: true },
    { text: "three", enter: true },
  ]);
  assert.deepEqual(pasteParts("a\tb\n\n"), [{ text: "a\tb", enter: true }, {
    text: "",
    enter: true,
  }]);
  const long = "x".repeat(5000);
  assert.deepEqual(pasteParts(long), [{ text: long, enter: false }]);
});

Deno.test("pasteParts() leaves keys and escape sequences to readline", () => {
  for (const chunk of ["a", "\t", "\r", "\x1b[A", "\x1b[200~hi", "hi\x03", "\x7f\x7f", "ab\x04"]) {
    assert.equal(pasteParts(chunk), null, JSON.stringify(chunk));
  }
});
