/**
 * The PostgreSQL schema, as numbered migrations (the same tables as
 * db/sqlite/migrations.ts, in PostgreSQL's types). Nodes that start together
 * migrate one at a time: each takes a transaction-scoped advisory lock first,
 * and PostgreSQL's DDL is transactional, so a node sees the schema either
 * before or after a migration, never half of one. Append only.
 */

/** pg_advisory_xact_lock key: "chat" in ASCII, so other users of the database can avoid it. */
export const MIGRATION_LOCK = 0x63686174;

export const MIGRATIONS: readonly string[] = [
  // 1: users, messages with ids assigned from one counter row in the
  // committing transaction (db/store.ts: commit-ordered, gap-free), and the
  // nodes and their sessions (one session per user in the cluster).
  `
  CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    name           text      NOT NULL UNIQUE,
    public_key     bytea     NOT NULL,
    certificate    bytea     NOT NULL,
    encryption_key bytea     NOT NULL,
    key_binding    bytea     NOT NULL,
    created_at     bigint    NOT NULL
  );
  -- Unique without regard to case, so "Sam" cannot pose as "sam".
  CREATE UNIQUE INDEX users_name_nocase ON users (lower(name));

  CREATE TABLE message_counter (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    last   bigint  NOT NULL
  );
  INSERT INTO message_counter VALUES (true, 0);

  CREATE TABLE messages (
    id           bigint PRIMARY KEY,
    time         bigint NOT NULL,
    sender_id    bigint NOT NULL REFERENCES users (id),
    recipient_id bigint REFERENCES users (id),
    body         text   NOT NULL,
    signature    text
  );
  CREATE INDEX messages_private_by_recipient ON messages (recipient_id) WHERE recipient_id IS NOT NULL;
  CREATE INDEX messages_private_by_sender ON messages (sender_id) WHERE recipient_id IS NOT NULL;

  CREATE TABLE nodes (
    id      text        PRIMARY KEY,
    seen_at timestamptz NOT NULL
  );
  CREATE TABLE sessions (
    name  text        PRIMARY KEY,
    node  text        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    since timestamptz NOT NULL
  );
  CREATE INDEX sessions_by_node ON sessions (node);
  `,
  // 2: names unique by their skeleton (protocol/names.ts, nameSkeleton: the
  // same folds, in the same order), as db/sqlite/migrations.ts 3.
  `
  ALTER TABLE users ADD COLUMN skeleton text;
  UPDATE users SET skeleton = replace(replace(replace(lower(name), 'i', 'l'), '1', 'l'), '0', 'o');
  UPDATE users SET skeleton = skeleton || '#' || id
    WHERE id NOT IN (SELECT min(id) FROM users GROUP BY skeleton);
  CREATE UNIQUE INDEX users_by_skeleton ON users (skeleton);
  `,
  // 3: the id a sender's client chose for each message, as db/sqlite/migrations.ts 5.
  `
  ALTER TABLE messages ADD COLUMN client_id text;
  CREATE INDEX messages_by_client_id ON messages (sender_id, client_id) WHERE client_id IS NOT NULL;
  `,
  // 4: for the operator, as db/sqlite/migrations.ts 6: when each user was
  // last seen, and who is banned (every node polls this).
  `
  ALTER TABLE users ADD COLUMN last_seen bigint;
  ALTER TABLE users ADD COLUMN banned_at bigint;
  CREATE INDEX users_banned ON users (name) WHERE banned_at IS NOT NULL;
  `,
  // 5: cids by themselves, as db/sqlite/migrations.ts 7 (new cids increase
  // with time: the index grows at one end); and, as its 4, no indexes on
  // private messages' parties, which no query uses (history walks ids).
  `
  DROP INDEX messages_by_client_id;
  CREATE INDEX messages_by_cid ON messages (client_id, sender_id) WHERE client_id IS NOT NULL;
  DROP INDEX messages_private_by_recipient;
  DROP INDEX messages_private_by_sender;
  `,
];
