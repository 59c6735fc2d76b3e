/**
 * The certificates the TTP revoked (pki/revocation.ts), as this server knows
 * them: read from serverkeys/crl.pem at start and again on SIGHUP. A login
 * with a listed certificate is refused; a live session that uses one ends.
 */

import type { Certificate } from "../pki/certificates.ts";
import { readRevocationList } from "../pki/revocation.ts";

export class Revocations {
  #serials: ReadonlySet<string> = new Set();

  /** True when the certificate with this serial (pki/serials.ts spelling) is revoked. */
  has(serial: string): boolean {
    return this.#serials.has(serial);
  }

  get size(): number {
    return this.#serials.size;
  }

  /**
   * Reads the list in `pem` (none: nothing is revoked), checking the CA
   * signed it; throws when it does not verify. `use()` makes it current.
   */
  static async read(pem: string | undefined, ca: Certificate): Promise<ReadonlySet<string>> {
    return pem === undefined ? new Set() : (await readRevocationList(pem, ca)).serials;
  }

  use(serials: ReadonlySet<string>): void {
    this.#serials = serials;
  }
}
