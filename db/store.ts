/**
 * The server's storage, as one async interface (SPEC section 7): users and
 * messages. The SQLite engine (db/sqlite/, the embedded default) and the
 * PostgreSQL engine (db/postgres/, several nodes) implement it and pass one
 * contract suite (db/store_contract.ts); nothing outside db/ knows which one
 * is in use, and nothing outside db/ writes SQL.
 *
 * Message ids are the one order every user shares: an engine assigns them in
 * the committing transaction, so the ids visible to any reader are always a
 * gap-free prefix (1, 2, ... N). A node that sees id N+2 before N+1 knows it
 * missed one and reads it back with `messagesAfter` (server/delivery.ts).
 */

/**
 * A user as the server keeps them while they are online (and engines cache
 * them): what a login checks and a message needs, nothing more.
 */
export interface StoredUser {
  id: number;
  name: string;
  /** DER SubjectPublicKeyInfo pinned at registration. */
  publicKey: Uint8Array;
}

/**
 * What a user published at registration for others: peers ask for it
 * (`keys`), the operator prints the certificate. Read when asked, never
 * kept with the user (a fifth of an idle connection's memory, issue 12).
 */
export interface UserKeys {
  /** DER certificate presented at registration. */
  certificate: Uint8Array;
  /** DER SubjectPublicKeyInfo of the X25519 key, and its binding signature (opaque here). */
  encryptionKey: Uint8Array;
  keyBinding: Uint8Array;
}

/** What a registration stores besides the name. */
export type NewUser = Omit<StoredUser, "id" | "name"> & UserKeys;

/** A message to store: who sent it to whom (null: everyone), what, when. */
export interface NewMessage {
  sender: StoredUser;
  recipient: StoredUser | null;
  body: string;
  signature: string | null;
  time: number;
  /**
   * The id the sender's client chose for it (protocol/README.md, "cid"), so
   * a resend after a lost connection is recognised; null when none was given.
   */
  clientId?: string | null;
}

export interface StoredMessage {
  /** Position in the one order all users share; gap-free from 1. */
  id: number;
  /** Milliseconds since the Unix epoch, UTC. */
  time: number;
  from: string;
  /** null for a public message. */
  to: string | null;
  /** Public text, or a private message's opaque payload. */
  body: string;
  /** A public message's signature envelope, as sent; null for a private one. */
  signature: string | null;
}

/**
 * Who is logged in, across every node (SPEC section 7: one session per user
 * in the cluster). The SQLite engine serves one node and keeps it in memory.
 */
export interface Roster {
  /** Claims `name` for this node: false while a live session (on any live node) holds it. */
  claim(name: string): Promise<boolean>;
  /** Gives up this node's session of `name`. */
  release(name: string): Promise<void>;
  /** The names logged in on live nodes, sorted. */
  names(): Promise<string[]>;
  /** Says this node is alive; false when it had been taken for dead (its sessions are gone). */
  heartbeat(): Promise<boolean>;
  /**
   * Frees the sessions of nodes taken for dead and returns their names, each
   * to one caller only (so one node tells everyone they left).
   */
  reapDeparted(): Promise<string[]>;
  /** Frees this node's sessions (a clean stop). */
  close(): Promise<void>;
}

/** A registered user as the operator sees them (`chat server users`). */
export interface UserSummary {
  name: string;
  /** Milliseconds since the epoch, UTC. */
  registeredAt: number;
  /** Last login or logout, or null if never logged in since this was recorded. */
  lastSeen: number | null;
  /** When the operator banned them, or null. */
  bannedAt: number | null;
}

export interface Store {
  /**
   * Adds a user; null when the name is taken, or one that looks like it
   * (the same skeleton, protocol/names.ts: any case, i/l/1, o/0).
   */
  createUser(name: string, user: NewUser, time: number): Promise<StoredUser | null>;

  /** The user registered under exactly this name, or null. */
  findUser(name: string): Promise<StoredUser | null>;

  /** The keys of the user registered under exactly this name, or null. */
  findKeys(name: string): Promise<UserKeys | null>;

  /**
   * Stores messages in one transaction (group commit: one commit for many
   * messages). All are committed, with consecutive ids in the given order,
   * when this resolves; none when it rejects.
   */
  appendMessages(messages: readonly NewMessage[]): Promise<StoredMessage[]>;

  /**
   * The message `sender` stored with the client-chosen id `clientId`, or
   * null: a client resending what it never saw acknowledged gets the stored
   * one back instead of storing it twice.
   */
  findByClientId(sender: StoredUser, clientId: string): Promise<StoredMessage | null>;

  /** Every registered user, by name (SPEC section 8, `chat server users`). */
  listUsers(): Promise<UserSummary[]>;

  /** Records that `user` logged in or out at `time`. */
  recordSeen(user: StoredUser, time: number): Promise<void>;

  /**
   * Bans (`time` given) or unbans (`time` null) the user named exactly `name`;
   * false when there is no such user. Every server node sees it at its next
   * poll of `bannedNames`.
   */
  setBanned(name: string, time: number | null): Promise<boolean>;

  /** The names of banned users. */
  bannedNames(): Promise<string[]>;

  /**
   * Writes a consistent copy of the whole database to a new file at `path`
   * while servers keep running (SQLite: the online backup API). The caller
   * makes sure `path` does not exist.
   */
  backup(path: string): Promise<void>;

  /** The id of the newest committed message (0 when there is none). */
  lastMessageId(): Promise<number>;

  /**
   * One page of `user`'s history, oldest first: every public message and
   * every private one they sent or received, with `afterId < id <= upToId`.
   * Pages are keyed by id, so no read transaction stays open between them.
   */
  historyPage(
    user: StoredUser,
    afterId: number,
    upToId: number,
    limit: number,
  ): Promise<StoredMessage[]>;

  /**
   * Where the most recent `last` messages of `user`'s history with
   * `afterId < id <= upToId` begin: the id to page from (`afterId`), and how
   * many messages of that range come before them (`earlier`).
   */
  historyWindow(
    user: StoredUser,
    afterId: number,
    upToId: number,
    last: number,
  ): Promise<{ afterId: number; earlier: number }>;

  /** Every message with `id > afterId`, oldest first, at most `limit`: a node catching up. */
  messagesAfter(afterId: number, limit: number): Promise<StoredMessage[]>;

  /** The roster of sessions, with `node` naming this server process. */
  openRoster(node: string): Promise<Roster>;

  close(): Promise<void>;
}
