/**
 * Getting a certificate for `/register NAME` (SPEC section 1).
 *
 * Where the TTP is on this machine, new keys are made and signed at once.
 * Where it is not (`chat ca sign` finds no `ttpkeys/ca.key`), the ceremony goes
 * through files: the first `/register NAME` keeps the new keys in
 * `clientkeys/.enrol-NAME/` (sealed with the password if one is given) and
 * writes `clientkeys/NAME.csr`; the user has the TTP sign it and puts the
 * answer at `clientkeys/NAME.crt`; a later `/register NAME` checks that
 * certificate (it verifies, names NAME, is for the key made the first time)
 * and completes the registration with those keys.
 */

import { basename } from "node:path";
import { commandLine } from "../cli/invocation.ts";
import type { Credentials } from "./connection.ts";
import type { Output } from "./output.ts";
import {
  acceptCertificate,
  makeKeys,
  RegistrationError,
  type Signer,
  TtpAbsentError,
} from "./registration.ts";
import { REPLIES } from "./render.ts";
import { CredentialsError, type KeyStore, PasswordNeededError } from "./store.ts";
import type { Ui } from "./tui.ts";

export interface EnrolmentContext {
  store: KeyStore;
  sign: Signer;
  caCertificate: string;
  output: Output;
  ui: Ui;
}

/** Credentials to register with, and the password their keys are kept under. */
export interface Certified {
  credentials: Credentials;
  password: string | undefined;
}

/**
 * Finishes an enrolment through files begun by an earlier `/register NAME`:
 * "none" when there is none, null when it cannot finish yet (it said why and
 * what to do), else the certified keys made the first time.
 */
export async function finishEnrolment(
  context: EnrolmentContext,
  name: string,
  typed: string | undefined,
): Promise<Certified | null | "none"> {
  const { store, output, ui } = context;
  let password = typed;
  let pending: Awaited<ReturnType<KeyStore["loadEnrolment"]>>;
  try {
    pending = await store.loadEnrolment(name, password).catch(async (error) => {
      if (!(error instanceof PasswordNeededError)) throw error;
      await output.settle();
      password = await ui.askSecret(`password for ${name}'s key: `) ?? undefined;
      if (password === undefined) throw error;
      return await store.loadEnrolment(name, password);
    });
  } catch (error) {
    if (!(error instanceof CredentialsError)) throw error;
    await output.reply(REPLIES.invalid_credentials);
    output.print(
      `hint: the key made for ${name} at the first /register is encrypted: ` +
        `"/register ${name} PASSWORD" with that password`,
    );
    return null;
  }
  if (pending === null) return "none";
  const files = store.enrolmentFiles(name);
  let certificate = pending.certificate;
  if (certificate === null && pending.request !== null) {
    // The TTP may be here now; if not, the user still has to bring its answer.
    certificate = await context.sign(pending.request).catch((error) => {
      if (error instanceof TtpAbsentError) return null;
      throw error;
    });
  }
  if (certificate === null) {
    await output.reply(
      `error: registration not complete: no certificate at ${files.certificate} yet`,
    );
    output.print(signHint(store, name));
    return null;
  }
  try {
    const credentials = await acceptCertificate(
      name,
      pending,
      certificate,
      context.caCertificate,
      files.certificate,
    );
    return { credentials, password: pending.sealed ? password : undefined };
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    await output.reply(`error: registration failed: ${error.message}`);
    return null;
  }
}

/**
 * New keys for `name`, certified by the TTP at once when it is here; when it
 * is not, the keys are kept, the request is written out and null says the
 * user has a step to take (printed).
 */
export async function certifyNewKeys(
  context: EnrolmentContext,
  name: string,
  password: string | undefined,
): Promise<Credentials | null> {
  const { store, output } = context;
  const keys = await makeKeys(name);
  try {
    return await acceptCertificate(
      name,
      keys,
      await context.sign(keys.request),
      context.caCertificate,
    );
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    if (!(error instanceof TtpAbsentError)) {
      await output.reply(`error: registration failed: ${error.message}`);
      return null;
    }
  }
  await store.startEnrolment(name, keys, keys.request, password);
  await output.reply(`certificate request written to ${store.enrolmentFiles(name).request}`);
  output.print(signHint(store, name));
  return null;
}

function signHint(store: KeyStore, name: string): string {
  const files = store.enrolmentFiles(name);
  return `hint: at the TTP, "${commandLine("ca sign")} < ${basename(files.request)} > ` +
    `${basename(files.certificate)}"; put the certificate at ${files.certificate}, ` +
    `then "/register ${name}" again`;
}
