import assert from "node:assert/strict";
import { INVALID_FORMAT, MESSAGE_TOO_LONG, parseLine } from "./commands.ts";

Deno.test("parseLine() follows SPEC section 2's grammar", () => {
  const cases: Array<[string, unknown]> = [
    ["", { kind: "empty" }],
    [" \t ", { kind: "empty" }],
    ["/register sam", { kind: "register", name: "sam" }],
    ["  /register\tsam  s3cret ", { kind: "register", name: "sam", password: "s3cret" }],
    ["/register", { kind: "error", reply: INVALID_FORMAT }],
    ["/register a b c", { kind: "error", reply: INVALID_FORMAT }],
    ["/register bad/name", { kind: "error", reply: INVALID_FORMAT }],
    ["/register " + "x".repeat(33), { kind: "error", reply: INVALID_FORMAT }],
    ["/login a b c", { kind: "error", reply: INVALID_FORMAT }],
    ["/login sam", { kind: "login", name: "sam" }],
    ["/users", { kind: "users" }],
    ["/users x", { kind: "error", reply: INVALID_FORMAT }],
    ["/exit", { kind: "exit" }],
    ["/exit now", { kind: "error", reply: INVALID_FORMAT }],
    ["/help", { kind: "help" }],
    ["/make", { kind: "error", reply: "error: unknown command /make" }],
    ["/make me a sandwich", { kind: "error", reply: "error: unknown command /make" }],
    ["/", { kind: "error", reply: "error: unknown command /" }],
    ["@sam hey how are you?", { kind: "private", to: "sam", text: "hey how are you?" }],
    ["@sam \t  spaced   out", { kind: "private", to: "sam", text: "spaced   out" }],
    ["@sam", { kind: "error", reply: INVALID_FORMAT }],
    ["@sam   ", { kind: "error", reply: INVALID_FORMAT }],
    ["@ hi", { kind: "error", reply: INVALID_FORMAT }],
    ["@s!m hi", { kind: "error", reply: INVALID_FORMAT }],
    ["this is a message", { kind: "public", text: "this is a message" }],
    ["  inner   \t whitespace kept  ", { kind: "public", text: "inner   \t whitespace kept" }],
    ["x".repeat(2001), { kind: "error", reply: MESSAGE_TOO_LONG }],
    ["@sam " + "x".repeat(2001), { kind: "error", reply: MESSAGE_TOO_LONG }],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseLine(line), expected, line);
});
