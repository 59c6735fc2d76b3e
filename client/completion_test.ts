import assert from "node:assert/strict";
import { complete } from "./completion.ts";

const ONLINE = ["erik", "eve", "sam", "Sara"];

Deno.test("complete() completes commands at the start of a line", () => {
  assert.deepEqual(complete("/re", ONLINE), [["/register "], "/re"]);
  assert.deepEqual(complete("/m", ONLINE), [["/me ", "/msg "], "/m"]);
  assert.deepEqual(complete("/", ONLINE)[0].length, 11);
  assert.deepEqual(complete("/zz", ONLINE), [[], "/zz"]);
});

Deno.test("complete() completes online names after @, /msg, /fingerprint and /trust", () => {
  assert.deepEqual(complete("@e", ONLINE), [["@erik ", "@eve "], "@e"]);
  assert.deepEqual(complete("  @sa", ONLINE), [["@sam "], "@sa"]);
  assert.deepEqual(complete("@SA", ONLINE), [["@Sara ", "@sam "], "@SA"]);
  assert.deepEqual(complete("/msg er", ONLINE), [["erik "], "er"]);
  assert.deepEqual(complete("/fingerprint S", ONLINE), [["Sara "], "S"]);
  assert.deepEqual(complete("/trust ", ONLINE), [["Sara ", "erik ", "eve ", "sam "], ""]);
});

Deno.test("complete() offers nothing inside a message or after other commands", () => {
  assert.deepEqual(complete("hello e", ONLINE), [[], "hello e"]);
  assert.deepEqual(complete("@erik hi e", ONLINE), [[], "@erik hi e"]);
  assert.deepEqual(complete("/register e", ONLINE), [[], "/register e"]);
  assert.deepEqual(complete("/msg erik hi", ONLINE), [[], "/msg erik hi"]);
});
