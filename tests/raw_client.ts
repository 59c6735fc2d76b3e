/**
 * Moved to testing/ (shared by tests and bench). This re-export keeps tests
 * written against the old path working; new tests import testing/raw_client.ts.
 */
export { RawClient } from "../testing/raw_client.ts";
