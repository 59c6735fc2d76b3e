/**
 * The schema, as numbered migrations. Migration N brings a database from
 * `PRAGMA user_version` N-1 to N; a database newer than this build is refused.
 * Append only: never edit a migration that has shipped.
 */

export const MIGRATIONS: readonly string[] = [
  // 1: users with the key pinned at registration, and every message.
  `
  CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    -- Unique without regard to case, so "Sam" cannot pose as "sam".
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- DER SubjectPublicKeyInfo: a login must present a certificate for this key.
    public_key  BLOB    NOT NULL,
    -- DER certificate as registered, for peers to verify signatures with.
    certificate BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    time         INTEGER NOT NULL,
    sender_id    INTEGER NOT NULL REFERENCES users (id),
    -- NULL for a public message.
    recipient_id INTEGER REFERENCES users (id),
    -- Public: the text. Private: the payload exactly as the sender's client made it.
    body         TEXT    NOT NULL
  ) STRICT;

  CREATE INDEX messages_private_by_recipient ON messages (recipient_id) WHERE recipient_id IS NOT NULL;
  CREATE INDEX messages_private_by_sender ON messages (sender_id) WHERE recipient_id IS NOT NULL;
  `,
  // 2: end-to-end keys (e2e/README.md): each user's X25519 key and its
  // binding signature, stored and handed out as registered; public messages'
  // signatures, stored and relayed as sent.
  `
  ALTER TABLE users ADD COLUMN encryption_key BLOB;
  ALTER TABLE users ADD COLUMN key_binding BLOB;
  ALTER TABLE messages ADD COLUMN signature TEXT;
  `,
  // 3: names unique by their skeleton (protocol/names.ts, nameSkeleton: the
  // same folds, in the same order), so "aIice" cannot register beside
  // "alice". Look-alikes registered before keep their names; the later of
  // each group gets a skeleton of its own.
  `
  ALTER TABLE users ADD COLUMN skeleton TEXT;
  UPDATE users SET skeleton = replace(replace(replace(lower(name), 'i', 'l'), '1', 'l'), '0', 'o');
  UPDATE users SET skeleton = skeleton || '#' || id
    WHERE id NOT IN (SELECT min(id) FROM users GROUP BY skeleton);
  CREATE UNIQUE INDEX users_by_skeleton ON users (skeleton);
  `,
  // 4: no query uses the two indexes on private messages' parties (every
  // history query walks the id range, EXPLAIN QUERY PLAN says), and each
  // private message paid two random index writes for them (issue 12: the
  // lean insert path).
  `
  DROP INDEX messages_private_by_recipient;
  DROP INDEX messages_private_by_sender;
  `,
  // 5: the id a sender's client chose for each message, so a resend after a
  // lost connection finds the stored one (protocol/README.md, "cid").
  `
  ALTER TABLE messages ADD COLUMN client_id TEXT;
  CREATE INDEX messages_by_client_id ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
  `,
  // 6: for the operator (SPEC section 8): when each user was last seen, and
  // who is banned (every server node polls this).
  `
  ALTER TABLE users ADD COLUMN last_seen INTEGER;
  ALTER TABLE users ADD COLUMN banned_at INTEGER;
  CREATE INDEX users_banned ON users (name) WHERE banned_at IS NOT NULL;
  `,
  // 7: cids first (issue 12). Keyed by sender first, every insert landed on
  // its own page of the index, and each commit wrote one page per sender in
  // its batch. Clients now make cids that increase with time, so new entries
  // land together at one end. The sender stays in the key: a cid is the
  // client's choice, and one user storing thousands of messages under one
  // cid must not make another's lookup walk them.
  `
  DROP INDEX messages_by_client_id;
  CREATE INDEX messages_by_cid ON messages (client_id, sender_id) WHERE client_id IS NOT NULL;
  `,
];
