import assert from "node:assert/strict";
import { neutralise, renderPrivate, renderPublic } from "./render.ts";

Deno.test("neutralise() leaves no escape sequence, control or bidi override, and keeps tabs", () => {
  const hostile = "\x1b[2J\x1b]0;owned\x07\r\b\x00\x7f\x9b31m\u202eevil\u2066\u2028ok\tend";
  const safe = neutralise(hostile);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(safe, /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028]/);
  assert.ok(safe.endsWith("ok\tend"));
  assert.equal(neutralise("plain text, ünïcödé 😀"), "plain text, ünïcödé 😀");
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
});
