/**
 * User names, as SPEC section 2 defines them: 1 to 32 characters from
 * `A-Z a-z 0-9 _ -`. The same rule guards the wire, the database and the key
 * store, where a name becomes a folder: nothing else may ever reach a path.
 */

export const MAX_NAME_LENGTH = 32;

const NAME_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_NAME_LENGTH}}$`);

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/**
 * The name's skeleton: what it looks like, folded so that names a reader
 * could take for one another fold alike (after Unicode TR39's skeletons, for
 * our alphabet): letter case, `i`/`l`/`1` (`I` is `i` in another case and
 * looks like `l`), `o`/`0`. Two users never share a skeleton, so `aIice`
 * cannot register beside `alice`.
 */
export function nameSkeleton(name: string): string {
  return name.toLowerCase().replace(/[i1]/g, "l").replace(/0/g, "o");
}
