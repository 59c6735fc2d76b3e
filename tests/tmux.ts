/**
 * A terminal for black-box tests of the client's terminal mode: the real
 * client runs in a tmux pane (its own tmux server, on a private socket),
 * keys go in with `send-keys`, the screen comes back with `capture-pane`.
 * Waits poll the screen until a deadline; nothing sleeps and hopes.
 */

import { CONFIG, MAIN, taskFlags } from "../testing/chat.ts";

/** How long a test waits for the screen to show something. */
export const SCREEN_WAIT_MS = 90_000;
const POLL_MS = 50;

export function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

export class TmuxPane {
  readonly #socket: string;

  private constructor(socket: string) {
    this.#socket = socket;
  }

  /**
   * Runs `chat client` with the client task's flags in `dir`, in a pane of
   * `width` columns. When it exits the shell prints `[exited N]`, so a test
   * sees the status and whether it came on a fresh line.
   */
  static async client(
    dir: string,
    port: number,
    env: Record<string, string> = { NO_COLOR: "1" },
    width = 200,
  ): Promise<TmuxPane> {
    const socket = `chat-test-${crypto.randomUUID().slice(0, 8)}`;
    const command = [Deno.execPath(), "run", `--config=${CONFIG}`, ...taskFlags("client"), MAIN]
      .concat(["client", "127.0.0.1", String(port)]).map(quote).join(" ");
    const exports = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
    const script = `cd ${quote(dir)} && env ${exports} ${command}; printf '[exited %s]' "$?"; ` +
      "sleep 600";
    const pane = new TmuxPane(socket);
    await pane.#tmux("new-session", "-d", "-s", "t", "-x", String(width), "-y", "50", script);
    return pane;
  }

  async #tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { TERM: "xterm-256color" },
    }).output();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  }

  /** Keys as tmux names them: "Enter", "Tab", "C-c", "Up", or literal text with `literal`. */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", "t", ...keys);
  }

  async type(text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", "t", "-l", text);
  }

  /** Pastes `text` in one piece, as a terminal does. */
  async paste(text: string): Promise<void> {
    await this.#tmux("set-buffer", "--", text);
    await this.#tmux("paste-buffer", "-t", "t");
  }

  /** The screen, wrapped lines joined, trailing blank lines dropped. */
  async screen(): Promise<string> {
    const text = await this.#tmux("capture-pane", "-p", "-J", "-t", "t");
    return text.replace(/\n+$/, "");
  }

  /** The screen once `match` matches it; fails with the screen at the deadline. */
  async waitFor(match: string | RegExp, timeoutMs = SCREEN_WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (typeof match === "string" ? screen.includes(match) : match.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`screen never showed ${match}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** The last line of the screen: where the prompt and the typed text are. */
  async lastLine(): Promise<string> {
    const lines = (await this.screen()).split("\n");
    return lines[lines.length - 1];
  }

  async close(): Promise<void> {
    await this.#tmux("kill-server").catch(() => {});
  }
}
