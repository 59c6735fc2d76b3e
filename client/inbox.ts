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
import type { Line } from "./output.ts";
import type { Mark } from "./tui.ts";

/** A signed time further than this from the server's is flagged. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

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
    const what = `${frame.type} message #${frame.id} from ${frame.from}`;
    const sender = await this.#directory.lookup(frame.from);
    if (sender.kind !== "ok") {
      return [`warning: ${what} is not shown: ${keyProblem(sender, frame.from)}`];
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
          return [`warning: ${what} is not shown: ${keyProblem(counterpart, other)}`];
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
      return [`warning: ${what} failed verification (${reason}); not shown`];
    }
    if (!options.signatureAlreadyVerified) await this.#cache.add(digest);
    const shownAs = this.#seen.get(verified.mid);
    if (shownAs !== undefined) {
      return [
        `warning: ${what} repeats message #${shownAs}, already shown (a replay); not shown again`,
      ];
    }
    this.#seen.set(verified.mid, frame.id);
    const lines: Line[] = [];
    const skew = frame.time - verified.time;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
      lines.push(
        `warning: ${what} was signed at ${formatTime(verified.time)}, ` +
          `${Math.round(Math.abs(skew) / 60_000)} minutes ${skew > 0 ? "before" : "after"} ` +
          "the server received it (delayed, replayed, or a wrong clock)",
      );
    }
    const text = frame.type === "public"
      ? renderPublic(frame.time, frame.from, verified.text)
      : renderPrivate(frame.time, frame.from, frame.to, verified.text);
    const mark = this.#markFor(frame, verified.text);
    lines.push(mark === undefined ? text : { text, mark });
    return lines;
  }

  /** A private message to me, or a public one that names me, from someone else. */
  #markFor(frame: PublicMessage | PrivateMessage, text: string): Mark | undefined {
    const me = this.#directory.me.name;
    if (frame.from === me) return undefined;
    if (frame.type === "private") return "private";
    this.#mention ??= new RegExp(`(^|[^A-Za-z0-9_-])${me}($|[^A-Za-z0-9_-])`, "i");
    return this.#mention.test(text) ? "mention" : undefined;
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
