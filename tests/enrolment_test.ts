/**
 * Enrolment from a user's own machine (SPEC section 1): the machine holds
 * only clientkeys/ca.crt; `/register NAME` keeps the new keys and writes
 * clientkeys/NAME.csr, the TTP signs it with `chat ca sign`, and with
 * clientkeys/NAME.crt in place `/register NAME` completes with the key made
 * the first time. A certificate for another key or another name is refused.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chatSession, makeDataDir, runChat, ServerProcess } from "../testing/chat.ts";

/** A user's machine: an empty directory with a copy of the CA certificate only. */
async function userMachine(ttp: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-user-" });
  await Deno.mkdir(join(dir, "clientkeys"));
  await Deno.copyFile(join(ttp, "clientkeys/ca.crt"), join(dir, "clientkeys/ca.crt"));
  return dir;
}

async function signAtTtp(ttp: string, request: string): Promise<string> {
  const signed = await runChat("ca", ["sign"], ttp, request);
  assert.equal(signed.code, 0, signed.stderr);
  return signed.stdout;
}

Deno.test("enrolment through files: request, signature at the TTP, completion with the first key", async () => {
  const ttp = await makeDataDir();
  const laptop = await userMachine(ttp);
  const server = await ServerProcess.start(ttp);
  try {
    const first = await chatSession(laptop, server.port, ["/register alice s3cret"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      "certificate request written to clientkeys/alice.csr\n" +
        'hint: at the TTP, "deno task -q ca sign < alice.csr > alice.crt"; put the certificate at ' +
        'clientkeys/alice.crt, then "/register alice" again\n',
    );
    assert.equal(first.stderr, "");
    const request = await Deno.readTextFile(join(laptop, "clientkeys/alice.csr"));
    assert.match(request, /^-----BEGIN CERTIFICATE REQUEST-----/);

    // Asking again before the certificate is there makes no new key.
    const early = await chatSession(laptop, server.port, ["/register alice s3cret"]);
    assert.match(early.stdout, /^error: registration not complete: no certificate at /);
    assert.equal(await Deno.readTextFile(join(laptop, "clientkeys/alice.csr")), request);

    await Deno.writeTextFile(
      join(laptop, "clientkeys/alice.crt"),
      await signAtTtp(ttp, request),
    );
    const wrongPassword = await chatSession(laptop, server.port, ["/register alice nope"]);
    assert.match(wrongPassword.stdout, /^error: invalid credentials\n/);

    const done = await chatSession(laptop, server.port, ["/register alice s3cret", "hi"]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^Registration Succeeded\n.* alice: hi\n$/);
    const left = [];
    for await (const entry of Deno.readDir(join(laptop, "clientkeys"))) left.push(entry.name);
    assert.deepEqual(left.sort(), ["alice", "ca.crt"], "request and certificate files are gone");
    assert.ok(
      (await Deno.readTextFile(join(laptop, "clientkeys/alice/key.age"))).startsWith(
        "age-encryption.org/v1",
      ),
      "the password encrypts the key made the first time",
    );

    const again = await chatSession(laptop, server.port, ["/login alice s3cret", "/users"]);
    assert.equal(again.stdout.split("\n").slice(-2)[0], "alice");
    assert.match(again.stdout, /^Authentication Succeeded\n/);
  } finally {
    await server.stop();
  }
});

Deno.test("enrolment refuses a certificate for another key or another name", async () => {
  const ttp = await makeDataDir();
  const laptop = await userMachine(ttp);
  const other = await userMachine(ttp);
  const server = await ServerProcess.start(ttp);
  try {
    await chatSession(laptop, server.port, ["/register bob"]);
    await chatSession(other, server.port, ["/register bob"]);
    await chatSession(other, server.port, ["/register carol"]);
    // Another machine's request for the same name: a certificate for another key.
    const foreign = await signAtTtp(
      ttp,
      await Deno.readTextFile(join(other, "clientkeys/bob.csr")),
    );
    await Deno.writeTextFile(join(laptop, "clientkeys/bob.crt"), foreign);
    const wrongKey = await chatSession(laptop, server.port, ["/register bob"]);
    assert.equal(
      wrongKey.stdout,
      "error: registration failed: clientkeys/bob.crt is not for the key made for bob on this machine\n",
    );
    // A certificate naming someone else.
    const carol = await signAtTtp(
      ttp,
      await Deno.readTextFile(join(other, "clientkeys/carol.csr")),
    );
    await Deno.writeTextFile(join(laptop, "clientkeys/bob.crt"), carol);
    const wrongName = await chatSession(laptop, server.port, ["/register bob"]);
    assert.equal(
      wrongName.stdout,
      'error: registration failed: clientkeys/bob.crt names "carol", not "bob"\n',
    );
    // Nothing was registered: the right certificate still completes it.
    await Deno.writeTextFile(
      join(laptop, "clientkeys/bob.crt"),
      await signAtTtp(ttp, await Deno.readTextFile(join(laptop, "clientkeys/bob.csr"))),
    );
    const right = await chatSession(laptop, server.port, ["/register bob"]);
    assert.equal(right.stdout, "Registration Succeeded\n", right.stderr);
  } finally {
    await server.stop();
  }
});

Deno.test("with the TTP in the same directory, /register signs at once and writes no request", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const session = await chatSession(dir, server.port, ["/register sam"]);
    assert.equal(session.stdout, "Registration Succeeded\n", session.stderr);
    await assert.rejects(Deno.stat(join(dir, "clientkeys/sam.csr")), Deno.errors.NotFound);
  } finally {
    await server.stop();
  }
});
