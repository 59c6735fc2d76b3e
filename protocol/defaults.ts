/** Where the server listens unless told otherwise, and where the client connects. */

export const DEFAULT_PORT = 4747;
export const DEFAULT_HOST = "127.0.0.1";
