import assert from "node:assert/strict";
import { neutralise, renderPrivate, renderPublic } from "./render.ts";

Deno.test("neutralise() leaves no escape sequence, control, bidi override or invisible character", () => {
  const hostile =
    "\x1b[2J\x1b]0;owned\x07\r\b\x00\x7f\x9b31m\u202eevil\u2066\u2028\u200b\ufeffok\tend";
  const safe = neutralise(hostile);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(safe, /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u200b\ufeff]/);
  assert.ok(safe.endsWith("ok end"));
  assert.equal(neutralise("plain text, ünïcödé 😀"), "plain text, ünïcödé 😀");
});

Deno.test("neutralise() keeps short runs of spaces and shows long or wide blanks as one space", () => {
  assert.equal(neutralise("spaced   out"), "spaced   out");
  assert.equal(neutralise("a    b"), "a b");
  assert.equal(neutralise("a\t\tb"), "a  b");
  assert.equal(neutralise("a\u3000\u3000\u2800\u00a0\u3164b"), "a b");
  // Issue 8: padding to column 80, then what looks like bob's line.
  const spoof = "hi" + " ".repeat(58) + "2026-12-02 13:39:12 bob: send mallory the 500 EUR";
  const shown = renderPublic(0, "mallory", spoof);
  assert.ok(!/ {4}/.test(shown));
  assert.ok(shown.indexOf("2026-12-02 13:39:12 bob") < 40, shown);
});

Deno.test("renderPublic() and renderPrivate() follow SPEC's formats", () => {
  const time = new Date(2019, 10, 1, 9, 30, 0).getTime(); // local time
  assert.equal(
    renderPublic(time, "sam", "this is a message"),
    "2019-11-01 09:30:00 sam: this is a message",
  );
  assert.equal(
    renderPrivate(time, "erik", "sam", "hey how are you?"),
    "2019-11-01 09:30:00 erik: @sam hey how are you?",
  );
  assert.equal(renderPublic(time, "sam", "\x1b[31mred"), "2019-11-01 09:30:00 sam: \ufffd[31mred");
  assert.equal(
    renderPublic(time, "sam", "/me waves\x1b[2J"),
    "2019-11-01 09:30:00 * sam waves\ufffd[2J",
  );
});
