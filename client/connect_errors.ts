/**
 * Connection failures in the user's words (SPEC section 2: never a TLS
 * library's jargon or a URL). Deno.connectTls reports rustls errors as text;
 * the known ones become a sentence and, where it helps, a hint; anything
 * else becomes a plain sentence without the library's text.
 */

export interface ConnectProblem {
  /** Completes "cannot connect to HOST:PORT: ...". */
  reason: string;
  hint?: string;
}

export function describeConnectError(error: unknown, host: string): ConnectProblem {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return {
      reason: "connection refused",
      hint: 'is the server running? ("chat server", default port 4747)',
    };
  }
  if (error instanceof Deno.errors.TimedOut) {
    return { reason: "no answer", hint: "is the host reachable and the port open?" };
  }
  if (error instanceof Deno.errors.NotCapable) {
    return { reason: "not allowed by this command's permissions" };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/not valid for name/i.test(message)) {
    const names = certificateNames(message);
    return {
      reason: `the server's certificate is not valid for the name ${host}`,
      hint: (names.length > 0 ? `it is valid for ${names.join(", ")}; ` : "") +
        `connect with one of those, or add the name at the TTP with ` +
        `"chat ca init --host ${host}", then send the server SIGHUP`,
    };
  }
  if (/UnknownIssuer|BadSignature|invalid peer certificate/i.test(message)) {
    if (/Expired|NotValidYet/i.test(message)) {
      return { reason: "the server's certificate has expired or is not yet valid" };
    }
    return {
      reason: "the server's certificate is not issued by this CA",
      hint: "clientkeys/ca.crt must be a copy of the TTP's ttpkeys/ca.crt",
    };
  }
  if (error instanceof Deno.errors.NotFound || /lookup|resolve|getaddrinfo/i.test(message)) {
    return { reason: `cannot resolve the host name ${host}` };
  }
  if (/alert|handshake|certificate/i.test(message)) {
    return { reason: "the server refused the secure connection" };
  }
  if (
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    /close_notify|reset|eof|broken pipe/i.test(message)
  ) {
    return { reason: "the server closed the connection" };
  }
  if (error instanceof Deno.errors.AddrNotAvailable || /unreachable/i.test(message)) {
    return { reason: "the host cannot be reached", hint: "check the address and the network" };
  }
  return { reason: "the connection failed" };
}

/** The names of "certificate is only valid for DnsName("a"), IpAddress(1.2.3.4) or ...". */
function certificateNames(message: string): string[] {
  const list = /only valid for (.*)$/.exec(message)?.[1] ?? "";
  return [...list.matchAll(/(?:DnsName\("([^"]{1,253})"\)|IpAddress\(([0-9a-fA-F.:]{1,45})\))/g)]
    .map((m) => m[1] ?? (m[2] === "0::1" ? "::1" : m[2]));
}
