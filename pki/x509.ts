/**
 * The one place that loads `@peculiar/x509`. The library needs a Reflect
 * polyfill imported before it (its README, "Reflect Polyfill Required"), and
 * WebCrypto as its provider; every other module imports X.509 from here.
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };
