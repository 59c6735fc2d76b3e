/**
 * Moved to testing/ (shared by tests and bench). This re-export keeps tests
 * written against the old path working; new tests import testing/chat.ts.
 */
export * from "../testing/chat.ts";
