/**
 * The cluster's roster in PostgreSQL (db/store.ts `Roster`): one session per
 * user across all nodes (SPEC section 7). Each node keeps a row in `nodes`
 * fresh (a heartbeat every second); a session belongs to its node only while
 * that node is live, so the sessions of a node that was killed can be
 * claimed elsewhere once its heartbeat is NODE_LIVENESS_S old. Claims are one
 * atomic upsert: two nodes racing for a name cannot both win.
 */

import type { Roster } from "../store.ts";
import type { Sql } from "./driver.ts";

/** A node whose heartbeat is older than this is dead; its sessions are free. */
export const NODE_LIVENESS_S = 5;
/** Dead nodes' rows (and their sessions) are removed after this long. */
const NODE_FORGET_S = 60;

const LIVE =
  `(SELECT id FROM nodes WHERE seen_at > now() - make_interval(secs => ${NODE_LIVENESS_S}))`;

export class PostgresRoster implements Roster {
  readonly #sql: Sql;
  readonly #node: string;
  /**
   * Sessions whose release failed (the database was unreachable): retried at
   * each heartbeat, or the user could not log in again while this node lives.
   */
  readonly #unreleased = new Set<string>();

  private constructor(sql: Sql, node: string) {
    this.#sql = sql;
    this.#node = node;
  }

  static async open(sql: Sql, node: string): Promise<PostgresRoster> {
    await sql.unsafe(
      `INSERT INTO nodes (id, seen_at) VALUES ($1, now())
       ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
      [node],
    );
    return new PostgresRoster(sql, node);
  }

  async claim(name: string): Promise<boolean> {
    const rows = await this.#sql.unsafe(
      `INSERT INTO sessions (name, node, since) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET node = EXCLUDED.node, since = EXCLUDED.since
         WHERE sessions.node NOT IN ${LIVE}
       RETURNING node`,
      [name, this.#node],
      { prepare: true },
    );
    return rows.length === 1;
  }

  async release(name: string): Promise<void> {
    try {
      await this.#sql.unsafe(
        "DELETE FROM sessions WHERE name = $1 AND node = $2",
        [name, this.#node],
        { prepare: true },
      );
    } catch (error) {
      this.#unreleased.add(name);
      throw error;
    }
  }

  async names(): Promise<string[]> {
    const rows = await this.#sql.unsafe(
      `SELECT name FROM sessions WHERE node IN ${LIVE} ORDER BY name COLLATE "C"`,
      [],
      { prepare: true },
    );
    return rows.map((row) => row.name as string);
  }

  /**
   * Keeps this node live, and forgets nodes long dead (their sessions go with
   * them). False when this node had been forgotten: its sessions are gone.
   */
  async heartbeat(): Promise<boolean> {
    const rows = await this.#sql.unsafe(
      "UPDATE nodes SET seen_at = now() WHERE id = $1 RETURNING id",
      [this.#node],
      { prepare: true },
    );
    await this.#sql.unsafe(
      `DELETE FROM nodes WHERE seen_at < now() - make_interval(secs => ${NODE_FORGET_S})`,
      [],
      { prepare: true },
    );
    for (const name of [...this.#unreleased]) {
      await this.release(name);
      this.#unreleased.delete(name);
    }
    if (rows.length === 1) return true;
    await this.#sql.unsafe("INSERT INTO nodes (id, seen_at) VALUES ($1, now())", [this.#node]);
    return false;
  }

  async reapDeparted(): Promise<string[]> {
    const rows = await this.#sql.unsafe(
      `DELETE FROM sessions WHERE node NOT IN ${LIVE} RETURNING name`,
      [],
      { prepare: true },
    );
    return rows.map((row) => row.name as string);
  }

  async close(): Promise<void> {
    // A clean stop frees this node's sessions at once (ON DELETE CASCADE).
    await this.#sql.unsafe("DELETE FROM nodes WHERE id = $1", [this.#node]).catch(() => {});
  }
}
