import assert from "node:assert/strict";
import {
  ACTION_PREFIX,
  HELP_HINT,
  INVALID_FORMAT,
  MESSAGE_TOO_LONG,
  NAME_HINT,
  parseLine,
} from "./commands.ts";

const BAD_NAME = { kind: "error", reply: INVALID_FORMAT, hint: NAME_HINT };

Deno.test("parseLine() follows SPEC section 2's grammar", () => {
  const cases: Array<[string, unknown]> = [
    ["", { kind: "empty" }],
    [" \t ", { kind: "empty" }],
    ["/register sam", { kind: "register", name: "sam" }],
    ["  /register\tsam  s3cret ", { kind: "register", name: "sam", password: "s3cret" }],
    ["/register", { kind: "error", reply: INVALID_FORMAT }],
    ["/register a b c", { kind: "error", reply: INVALID_FORMAT }],
    ["/register bad/name", BAD_NAME],
    ["/register émile", BAD_NAME],
    ["/register " + "x".repeat(33), BAD_NAME],
    ["/login " + "x".repeat(40) + " pw", BAD_NAME],
    ["/login a b c", { kind: "error", reply: INVALID_FORMAT }],
    ["/login sam", { kind: "login", name: "sam" }],
    ["/users", { kind: "users" }],
    ["/users x", { kind: "error", reply: INVALID_FORMAT }],
    ["/exit", { kind: "exit" }],
    ["/exit now", { kind: "error", reply: INVALID_FORMAT }],
    ["/help", { kind: "help" }],
    ["/make", { kind: "error", reply: "error: unknown command /make", hint: HELP_HINT }],
    ["/make me a sandwich", {
      kind: "error",
      reply: "error: unknown command /make",
      hint: HELP_HINT,
    }],
    ["/", { kind: "error", reply: "error: unknown command /", hint: HELP_HINT }],
    ["/quit", { kind: "exit" }],
    ["/quit see you tomorrow", { kind: "exit" }],
    ["/msg sam  hey  there", { kind: "private", to: "sam", text: "hey  there" }],
    ["/msg sam", { kind: "error", reply: INVALID_FORMAT }],
    ["/msg s!m hi", BAD_NAME],
    ["/msg sam " + "x".repeat(2001), { kind: "error", reply: MESSAGE_TOO_LONG }],
    ["/me waves  twice", { kind: "public", text: ACTION_PREFIX + "waves  twice" }],
    ["/me", { kind: "error", reply: INVALID_FORMAT }],
    ["/fingerprint s!m", BAD_NAME],
    ["/trust " + "x".repeat(33), BAD_NAME],
    ["@sam hey how are you?", { kind: "private", to: "sam", text: "hey how are you?" }],
    ["@sam \t  spaced   out", { kind: "private", to: "sam", text: "spaced   out" }],
    ["@sam", { kind: "error", reply: INVALID_FORMAT }],
    ["@sam   ", { kind: "error", reply: INVALID_FORMAT }],
    ["@ hi", BAD_NAME],
    ["@s!m hi", BAD_NAME],
    ["this is a message", { kind: "public", text: "this is a message" }],
    ["  inner   \t whitespace kept  ", { kind: "public", text: "inner   \t whitespace kept" }],
    ["x".repeat(2001), { kind: "error", reply: MESSAGE_TOO_LONG }],
    ["@sam " + "x".repeat(2001), { kind: "error", reply: MESSAGE_TOO_LONG }],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseLine(line), expected, line);
});
