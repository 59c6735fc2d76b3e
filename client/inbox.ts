/**
 * What the client shows of each message the server delivers: the message
 * only when its sender's keys check out (CA, binding, pin) and its signature
 * verifies (and, for a private one, it decrypts); otherwise a `warning: `
 * line that says why, never the message as if it were authentic, and never
 * nothing (SPEC section 4).
 */

import {
  openPrivateMessage,
  VerificationError,
  type Verified,
  verifyPublicMessage,
} from "../e2e/envelope.ts";
import type { PrivateMessage, PublicMessage } from "../protocol/frames.ts";
import type { PeerDirectory, PeerLookup } from "./peers.ts";
import { formatTime, renderPrivate, renderPublic } from "./render.ts";
import { VerifiedCache } from "./verified_cache.ts";
import type { StoredMessage } from "./history_store.ts";
import type { Line } from "./output.ts";
import type { Mark } from "./tui.ts";

/** A signed time further than this from the server's is flagged. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** What checking a delivered message gave: its lines, and the message when it was shown. */
export interface Checked {
  lines: Line[];
  /** Set only for a message that verified and was shown (not a warning, not a replay). */
  message?: StoredMessage;
}

export class Inbox {
  readonly #directory: PeerDirectory;
  readonly #cache: VerifiedCache;
  /** Message ids shown this session, to the server's id that carried them. */
  readonly #seen = new Map<string, number>();
  #mention: RegExp | null = null;

  constructor(directory: PeerDirectory, cache: VerifiedCache) {
    this.#directory = directory;
    this.#cache = cache;
  }

  /** Writes the digests of newly verified messages. */
  flush(): Promise<void> {
    return this.#cache.flush();
  }

  /** The lines to print for one delivered message. */
  async render(frame: PublicMessage | PrivateMessage): Promise<Line[]> {
    return (await this.check(frame)).lines;
  }

  /** Message ids shown before this session (client/history_store.ts): a repeat is a replay. */
  remember(messages: readonly StoredMessage[]): void {
    for (const message of messages) this.#seen.set(message.mid, message.id);
  }

  /** The lines of a message verified in an earlier session, as they were shown then. */
  show(message: StoredMessage): Line[] {
    return this.#lines(message);
  }

  /** Checks one delivered message: the lines to print, and the message if it is shown. */
  async check(frame: PublicMessage | PrivateMessage): Promise<Checked> {
    const lines = (...lines: Line[]): Checked => ({ lines });
    const what = `${frame.type} message #${frame.id} from ${frame.from}`;
    const sender = await this.#directory.lookup(frame.from);
    if (sender.kind !== "ok") {
      return lines(`warning: ${what} is not shown: ${keyProblem(sender, frame.from)}`);
    }
    const digest = VerifiedCache.digest(
      sender.fingerprint,
      frame.type === "public"
        ? ["public", frame.from, frame.text, frame.signature]
        : ["private", frame.from, frame.to, frame.payload],
    );
    const options = { signatureAlreadyVerified: await this.#cache.has(digest) };
    let verified: Verified;
    try {
      if (frame.type === "public") {
        verified = verifyPublicMessage(
          frame.signature,
          frame.from,
          frame.text,
          sender.peer,
          options,
        );
      } else {
        const me = this.#directory.me;
        const other = frame.from === me.name ? frame.to : frame.from;
        const counterpart = await this.#directory.lookup(other);
        if (counterpart.kind !== "ok") {
          return lines(`warning: ${what} is not shown: ${keyProblem(counterpart, other)}`);
        }
        verified = openPrivateMessage(
          frame.payload,
          frame,
          sender.peer,
          me,
          counterpart.peer,
          options,
        );
      }
    } catch (error) {
      // Whatever a peer's data makes the crypto library do, it is a warning, never an exit.
      const reason = error instanceof VerificationError ? error.message : "could not be checked";
      return lines(`warning: ${what} failed verification (${reason}); not shown`);
    }
    if (!options.signatureAlreadyVerified) await this.#cache.add(digest);
    const shownAs = this.#seen.get(verified.mid);
    // The same id again is the same message (a stored one that /history fetches), not a replay.
    if (shownAs !== undefined && shownAs !== frame.id) {
      return lines(
        `warning: ${what} repeats message #${shownAs}, already shown (a replay); not shown again`,
      );
    }
    this.#seen.set(verified.mid, frame.id);
    const message: StoredMessage = {
      id: frame.id,
      type: frame.type,
      from: frame.from,
      time: frame.time,
      signed: verified.time,
      mid: verified.mid,
      text: verified.text,
    };
    if (frame.type === "private") message.to = frame.to;
    return { lines: this.#lines(message), message };
  }

  /** A verified message's lines: a skew warning if it has one, then the message. */
  #lines(message: StoredMessage): Line[] {
    const lines: Line[] = [];
    const what = `${message.type} message #${message.id} from ${message.from}`;
    const skew = message.time - message.signed;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
      lines.push(
        `warning: ${what} was signed at ${formatTime(message.signed)}, ` +
          `${Math.round(Math.abs(skew) / 60_000)} minutes ${skew > 0 ? "before" : "after"} ` +
          "the server received it (delayed, replayed, or a wrong clock)",
      );
    }
    const text = message.type === "public"
      ? renderPublic(message.time, message.from, message.text)
      : renderPrivate(message.time, message.from, message.to!, message.text);
    const mark = this.#markFor(message);
    lines.push(mark === undefined ? text : { text, mark });
    return lines;
  }

  /** A private message to me, or a public one that names me, from someone else. */
  #markFor(message: StoredMessage): Mark | undefined {
    const me = this.#directory.me.name;
    if (message.from === me) return undefined;
    if (message.type === "private") return "private";
    this.#mention ??= new RegExp(`(^|[^A-Za-z0-9_-])${me}($|[^A-Za-z0-9_-])`, "i");
    return this.#mention.test(message.text) ? "mention" : undefined;
  }
}

/** Why `name`'s keys cannot be used, or null when they can. */
export function keyProblem(lookup: PeerLookup, name: string): string | null {
  switch (lookup.kind) {
    case "ok":
      return null;
    case "unknown":
      return `the server has no keys for ${name}`;
    case "invalid":
      return `the server's keys for ${name} are not valid (${lookup.reason})`;
    case "changed":
      return `${name}'s key has changed since you first saw it. Compare fingerprints with ` +
        `${name} (/fingerprint ${name}), then /trust ${name} to accept the new key`;
  }
}
