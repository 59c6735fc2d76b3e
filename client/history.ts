/**
 * History that scales (SPEC section 2, "History"): a login shows the most
 * recent messages (the window, HISTORY_WINDOW unless `--history N|all` says
 * otherwise) after one line saying how many earlier ones `/history [N]`
 * shows. The messages verified in earlier sessions come from the client's
 * store (client/history_store.ts): a login asks the server only for what came
 * after the newest one stored (protocol/README.md, "History") and verifies
 * only that.
 *
 * Every method that sees frames runs in the output queue (client/output.ts),
 * so it sees them in the order they arrived, after the checks of the ones
 * before. The store holds one run of messages with no hole: it grows only
 * by messages that verified, in id order, and stops growing for the rest of
 * the session at the first one that did not (which the next login fetches
 * and checks again).
 */

import type {
  HistoryRequest,
  HistoryStart,
  PrivateMessage,
  PublicMessage,
} from "../protocol/frames.ts";
import type { Credentials } from "./connection.ts";
import { HistoryStore, type StoredHistory, type StoredMessage } from "./history_store.ts";
import type { Checked, Inbox } from "./inbox.ts";
import type { Line } from "./output.ts";

/** Messages a login shows, the most recent ones; earlier ones on request. */
export const HISTORY_WINDOW = 1000;
/** What `/history` without N shows: a screenful or so. */
export const HISTORY_PAGE = 100;
/** The most messages the store keeps: what a login reads and decrypts stays small. */
export const STORE_LIMIT = 10_000;
/** Live messages kept in memory before the store is written again. */
const SAVE_EVERY = 500;

type MessageFrame = PublicMessage | PrivateMessage;

export interface HistoryOptions {
  /** The most recent messages a login shows (HISTORY_WINDOW when undefined); null: all. */
  window?: number | null;
  /** A registration: nothing stored can belong to these new keys. */
  fresh: boolean;
}

export class History {
  readonly #store: HistoryStore;
  readonly #window: number;
  /** The store, loading while the connection is made. */
  readonly #loading: Promise<StoredHistory | null>;
  #inbox: Inbox | null = null;
  /** The store as loaded, when the login uses it; its messages come before the new ones. */
  #stored: StoredHistory | null = null;
  /** The login request's id while its history arrives. */
  #login: number | null = null;
  /** The login's `earlier`: new messages the window left out. */
  #skipped = 0;
  /** Messages the login brought. */
  #received = 0;
  /** Their lines, held while the stored ones must be shown first. */
  #held: Line[] | null = null;
  /** What the store will hold: loaded, then merged at the end of the login, then live ones. */
  #kept: StoredMessage[] = [];
  /** How many of the user's messages precede #kept[0]. */
  #earlier = 0;
  /** Set at the first message that did not verify: #kept stops there. */
  #frozen = false;
  /** Messages kept since the store was written. */
  #unsaved = 0;
  #saving: Promise<void> = Promise.resolve();
  /** The oldest message shown this session: `/history` continues before it. */
  #oldest: number | undefined;
  /** `/history` requests: how many messages each brought; the open one. */
  readonly #requests = new Map<number, number>();
  #open: number | null = null;
  /** The newest message frame seen outside `/history`. */
  #seenUpTo = 0;

  /**
   * Starts loading the store of `name` (keys `credentials`, in `folder`):
   * a login uses it when it can fill the window (it holds the whole window,
   * or the whole history).
   */
  constructor(folder: string, name: string, credentials: Credentials, options: HistoryOptions) {
    this.#store = new HistoryStore(folder, name, credentials);
    this.#window = options.window === undefined ? HISTORY_WINDOW : options.window ?? Infinity;
    this.#loading = options.fresh ? Promise.resolve(null) : this.#store.load();
    // Waited for in begin(); a login that fails before never asks.
    this.#loading.catch(() => {});
  }

  /** The history a login with id `id` asks for; `inbox` checks and shows its messages. */
  async begin(id: number, inbox: Inbox): Promise<{ after?: number; last?: number }> {
    this.#inbox = inbox;
    const stored = await this.#loading;
    if (
      stored !== null && stored.messages.length > 0 &&
      (stored.messages.length >= this.#window || stored.earlier === 0)
    ) {
      this.#stored = stored;
      this.#kept = [...stored.messages];
      this.#earlier = stored.earlier;
      inbox.remember(stored.messages);
    }
    this.#login = id;
    const range: { after?: number; last?: number } = {};
    if (this.#stored !== null) {
      range.after = this.#newest();
      this.#held = [];
    }
    if (Number.isFinite(this.#window)) range.last = this.#window;
    return range;
  }

  /** A `/history` request: `count` messages before the oldest one shown. */
  request(id: number, count = HISTORY_PAGE): HistoryRequest & { id: number } {
    this.#requests.set(id, 0);
    return this.#oldest === undefined
      ? { type: "history", id, last: count }
      : { type: "history", id, before: this.#oldest, last: count };
  }

  /**
   * The newest message id this session has, stored or received. A login's
   * history may come from the store without a frame, so a reconnection asks
   * for what came after this, not after the newest frame seen.
   */
  get newest(): number {
    return Math.max(this.#newest(), this.#stored?.messages.at(-1)?.id ?? 0, this.#seenUpTo);
  }

  /** A message frame: checked, kept if it extends the store, shown now or held. */
  async take(
    frame: MessageFrame,
    check: (frame: MessageFrame) => Promise<Checked>,
  ): Promise<Line[]> {
    let checked: Checked;
    try {
      checked = await check(frame);
    } catch (error) {
      // Said here, in its place among the held lines.
      const reason = error instanceof Error ? error.message : String(error);
      checked = { lines: [`warning: a message could not be shown: ${reason}`] };
    }
    this.#keep(frame.id, checked.message);
    if (this.#open === null) this.#seenUpTo = Math.max(this.#seenUpTo, frame.id);
    if (this.#oldest === undefined || frame.id < this.#oldest) this.#oldest = frame.id;
    if (this.#open !== null) this.#requests.set(this.#open, this.#requests.get(this.#open)! + 1);
    if (this.#login === null) return checked.lines;
    this.#received++;
    if (this.#held === null) return checked.lines;
    this.#held.push(...checked.lines);
    return [];
  }

  /** `history_start`: for a login, how many it skipped; for `/history`, how many remain. */
  start(frame: HistoryStart): Line[] {
    if (frame.re === this.#login) {
      this.#skipped = frame.earlier;
      if (this.#stored === null) {
        this.#earlier = frame.earlier;
        return earlierLine(frame.earlier);
      }
      if (frame.earlier > 0) {
        // More new messages than the window: they do not follow the stored ones, so they
        // start the store afresh.
        this.#earlier = this.#stored.earlier + this.#stored.messages.length + frame.earlier;
        this.#kept = [];
      }
      return [];
    }
    if (!this.#requests.has(frame.re)) return [];
    this.#open = frame.re;
    return earlierLine(frame.earlier);
  }

  /** `history_end`: a login's window is complete (stored, then new), or a `/history` is. */
  end(re: number): Line[] {
    if (re === this.#login) return this.#endLogin();
    const count = this.#requests.get(re);
    if (count === undefined) return [];
    this.#requests.delete(re);
    if (this.#open === re) this.#open = null;
    return count === 0 ? ["* no earlier messages"] : [];
  }

  /** Writes what is not stored yet; resolves when written. */
  close(): Promise<void> {
    if (this.#unsaved > 0) this.#save();
    return this.#saving;
  }

  #endLogin(): Line[] {
    this.#login = null;
    const stored = this.#stored;
    const held = this.#held ?? [];
    this.#held = null;
    if (stored === null || this.#unsaved > 0 || this.#skipped > 0) this.#save();
    if (stored === null) return [];
    const count = stored.messages.length;
    // A gap: more new messages than the window, so none of the stored ones is shown.
    const shown = this.#skipped > 0
      ? 0
      : Math.min(count, Math.max(0, this.#window - this.#received));
    const earlier = stored.earlier + count - shown + this.#skipped;
    const old = stored.messages.slice(count - shown);
    if (old.length > 0 && (this.#oldest === undefined || old[0].id < this.#oldest)) {
      this.#oldest = old[0].id;
    }
    return [...earlierLine(earlier), ...old.flatMap((m) => this.#inbox!.show(m)), ...held];
  }

  /** Extends the store by a verified message (`message`), or stops it at one that failed. */
  #keep(id: number, message: StoredMessage | undefined): void {
    // Older messages (`/history`) are not the store's; neither is anything after a failure.
    if (this.#open !== null || this.#frozen || id <= this.#newest()) return;
    if (message === undefined) {
      this.#frozen = true;
      return;
    }
    this.#kept.push(message);
    this.#unsaved++;
    if (this.#login === null && this.#unsaved >= SAVE_EVERY) this.#save();
  }

  #newest(): number {
    return this.#kept.at(-1)?.id ?? 0;
  }

  /** Writes the store in the background, trimmed to its limit. */
  #save(): void {
    const limit = Math.min(Math.max(this.#window, HISTORY_WINDOW), STORE_LIMIT);
    const dropped = Math.max(0, this.#kept.length - limit);
    if (dropped > 0) {
      this.#kept = this.#kept.slice(dropped);
      this.#earlier += dropped;
    }
    this.#unsaved = 0;
    const history: StoredHistory = { earlier: this.#earlier, messages: this.#kept.slice() };
    this.#saving = this.#saving.then(() =>
      history.messages.length === 0
        ? this.#store.discard().then(() => {})
        : this.#store.save(history)
    ).catch(() => {
      // A store that cannot be written only costs the next login time.
    });
  }
}

/** The one line before a window: how many messages precede it. */
function earlierLine(count: number): Line[] {
  if (count <= 0) return [];
  return count === 1
    ? ["* 1 earlier message is not shown: /history [N] shows it"]
    : [`* ${count} earlier messages are not shown: /history [N] shows them`];
}
