#!/bin/sh
# The TTP's signing step as the client runs it at /register (client/registration.ts):
# `chat ca sign` in the current directory, reading only ttpkeys/, request on stdin,
# certificate on stdout. Its arguments are ignored: the client's permissions allow
# running this file, never deno itself, so nothing the client does can start deno
# with other flags (SECURITY.md). The client can write files only in a clientkeys
# folder, so a deno, or a module cache, found there is refused: the caller's PATH
# and DENO_DIR cannot swap in a program of its own.
fail() {
  echo "chat: error: $1" >&2
  exit 1
}
deno=$(command -v deno) || fail "cannot find deno on PATH"
case "$(realpath -- "$deno")" in
*/clientkeys/*) fail "refusing to run \"$deno\": it is inside a clientkeys folder" ;;
esac
if [ -n "${DENO_DIR:-}" ]; then
  case "$(realpath -m -- "$DENO_DIR")/" in
  */clientkeys/*) fail "refusing DENO_DIR \"$DENO_DIR\": it is inside a clientkeys folder" ;;
  esac
fi
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
exec "$deno" run --quiet --no-prompt --config="$root/deno.json" --allow-read=ttpkeys \
  "$root/main.ts" ca sign
