import assert from "node:assert/strict";
import { describeConnectError } from "./connect_errors.ts";

const RUSTLS_NAME =
  'invalid peer certificate: certificate not valid for name "10.0.0.7"; certificate is only ' +
  'valid for DnsName("localhost"), IpAddress(127.0.0.1) or IpAddress(0::1)';

Deno.test("describeConnectError() names the certificate's names and the command that adds one", () => {
  const { reason, hint } = describeConnectError(new Error(RUSTLS_NAME), "10.0.0.7");
  assert.equal(reason, "the server's certificate is not valid for the name 10.0.0.7");
  assert.match(hint!, /^it is valid for localhost, 127\.0\.0\.1, ::1; /);
  assert.match(hint!, /"chat ca init --host 10\.0\.0\.7"/);
});

Deno.test("describeConnectError() never passes on a TLS library's text or a URL", () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      new Deno.errors.ConnectionRefused("Connection refused (os error 111)"),
      /^connection refused$/,
    ],
    [new Error("invalid peer certificate: UnknownIssuer"), /not issued by this CA/],
    [new Error("invalid peer certificate: Expired"), /expired/],
    [
      new Error(
        "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
      ),
      /^the server closed the connection$/,
    ],
    [new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"), /closed/],
    [new Error("received fatal alert: HandshakeFailure"), /refused the secure connection/],
    [new Error("something nobody foresaw: https://example.org/x"), /^the connection failed$/],
  ];
  for (const [error, expected] of cases) {
    const { reason, hint } = describeConnectError(error, "chat.example.org");
    assert.match(reason, expected);
    for (const text of [reason, hint ?? ""]) {
      assert.doesNotMatch(text, /https?:|rustls|os error|close_notify|DnsName/, text);
    }
  }
  assert.match(
    describeConnectError(new Deno.errors.ConnectionRefused("x"), "h").hint!,
    /is the server running\?/,
  );
});
