/**
 * Loads the PostgreSQL client (npm `postgres`, SPEC section 7) only when a
 * server is configured with a `postgres://` URL: the specifier is computed,
 * because Deno fetches a literal `import("npm:...")` at start-up even when
 * its branch never runs, and the default SQLite path must fetch nothing.
 */

/** The one version tested (deno.lock pins it once it has been loaded). */
export const POSTGRES_PACKAGE = ["npm:postgres", "3.4.9"].join("@");

export type Row = Record<string, unknown>;

/** The part of the client this folder uses: parameterised text queries and transactions. */
export interface Sql {
  unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean }): Promise<Row[]>;
  begin<T>(callback: (sql: Sql) => Promise<T>): Promise<T>;
  end(options?: { timeout?: number }): Promise<void>;
}

export interface ConnectOptions {
  /** Connections in the pool. */
  max: number;
  /** The node's name in pg_stat_activity. */
  applicationName: string;
}

export async function connectPostgres(url: string, options: ConnectOptions): Promise<Sql> {
  const module = await import(POSTGRES_PACKAGE);
  const postgres = module.default as (url: string, options: Record<string, unknown>) => Sql;
  const query = new URL(url).searchParams;
  // Every option given, so the client reads no PG* variable for it (the
  // server task grants only cli/permissions.ts SERVER_ENV); TLS to the
  // database still follows the URL's sslmode.
  return postgres(url, {
    max: options.max,
    ssl: query.get("sslmode") ?? query.get("ssl") ?? false,
    sslnegotiation: null,
    idle_timeout: null,
    // Fail fast when the database is unreachable; the caller reports it.
    connect_timeout: 10,
    max_lifetime: null,
    max_pipeline: 100,
    backoff: (attempt: number) => (0.5 + Math.random() / 2) * Math.min(3 ** attempt / 100, 20),
    keep_alive: 60,
    prepare: true,
    debug: false,
    fetch_types: true,
    publications: "alltables",
    target_session_attrs: null,
    onnotice: () => {},
    connection: { application_name: options.applicationName },
  });
}

/** A bytea from the driver (a Buffer) as a plain Uint8Array, like the SQLite engine's. */
export function bytes(value: unknown): Uint8Array {
  const view = value as Uint8Array;
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}
