/**
 * Shared pieces of the browser suite (test/e2e/*.e2e-test.ts): the JupyterLab server, the browser, the
 * offline guard, screenshots, reading executed notebooks, and a pixel check of PNG files.
 *
 * The suite runs only with ESMM_E2E=1 (`make test-browser`): the unit run (`node --test build/test/`)
 * also loads these files, because Node 20 treats every .js file under a `test/` folder as a test file,
 * and there the browser tests are skipped.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM_ARGS, findChromium } from "../../lib/plots/export";
import { blockNetwork } from "../../lib/report/pdf";
import { PROJECT_DIR } from "../paths";

export { PROJECT_DIR };

/** Set ESMM_E2E=1 to run the browser suite. */
export const E2E_ENABLED = process.env.ESMM_E2E === "1";
export const SKIP_REASON = E2E_ENABLED ? false : "browser suite: runs with ESMM_E2E=1, as `make test` does after the notebooks (or `make test-browser` alone)";

export const ARTIFACTS_DIR = path.join(PROJECT_DIR, "test-artifacts", "e2e");
export const NOTEBOOKS_DIR = path.join(PROJECT_DIR, "notebooks");
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * ESMM_E2E_BREAK_FIGURES=text-only makes every figure reach the frontend as text/plain only (the kernel
 * preloads break-figures.js): the negative control showing that the suite fails when the plotly
 * display path is broken.
 */
export const BREAK_FIGURES = process.env.ESMM_E2E_BREAK_FIGURES === "text-only";

/** Environment for a tslab kernel (or nbconvert run) that inherits the break switch above. */
export function kernelEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // A fresh results folder: notebook 02 reads runs that exist instead of training, and here it must train.
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-e2e-runs-"));
  onAbort(() => fs.rmSync(runs, { recursive: true, force: true })); // removed at exit and on Ctrl-C
  const env: NodeJS.ProcessEnv = { ...base, ESMM_PROFILE: "quick", ESMM_RUNS_DIR: runs };
  if (BREAK_FIGURES) {
    const hook = path.join(__dirname, "break-figures.js");
    env.NODE_OPTIONS = `${base.NODE_OPTIONS ?? ""} --require ${hook}`.trim();
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Clean-up that also runs on Ctrl-C: server process groups, kernels, temporary files.

const cleanups = new Map<number, () => void>();
let nextCleanup = 0;
let signalsHooked = false;

/** Registers a synchronous clean-up run at exit and on SIGINT/SIGTERM; returns a function that unregisters it. */
export function onAbort(fn: () => void): () => void {
  if (!signalsHooked) {
    signalsHooked = true;
    const runAll = () => {
      for (const f of [...cleanups.values()].reverse()) {
        try {
          f();
        } catch {
          /* best effort */
        }
      }
      cleanups.clear();
    };
    process.on("exit", runAll);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        runAll();
        process.exit(sig === "SIGINT" ? 130 : 143);
      });
    }
  }
  const id = nextCleanup++;
  cleanups.set(id, fn);
  return () => cleanups.delete(id);
}

// ---------------------------------------------------------------------------------------------
// Screenshots and logs

export function artifact(name: string): string {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

/** Screenshots written during this run (relative to the project), in order. */
export const screenshots: string[] = [];

export async function shot(
  target: { screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown> },
  name: string,
  fullPage = false,
): Promise<string> {
  const file = artifact(`${name}.png`);
  await target.screenshot(fullPage ? { path: file, fullPage } : { path: file });
  screenshots.push(path.relative(PROJECT_DIR, file));
  return file;
}

export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Browser

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

/** Fails (aborts) every request of the context that would leave the machine, and records it (the library's guard). */
export const guardOffline: (context: BrowserContext) => Promise<string[]> = blockNetwork;

// ---------------------------------------------------------------------------------------------
// JupyterLab server

export interface LabServer {
  url: string;
  token: string;
  port: number;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Processes whose command line mentions `needle` (our own temporary runtime folder): the kernels we started. */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(needle)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `.venv/bin/jupyter lab` on 127.0.0.1 with a free port and a random token, rooted at notebooks/,
 * isolated from the user's Jupyter settings (own config, runtime, workspace and settings folders; trust
 * database in memory; no news, update checks or extension manager). Kernels get ESMM_PROFILE=quick.
 */
export async function startJupyterLab(label: string): Promise<LabServer> {
  const port = await freePort();
  const token = randomBytes(24).toString("hex");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `esmm-e2e-${label}-`));
  const runtime = path.join(home, "runtime");
  const settings = path.join(home, "user-settings");
  const notification = path.join(settings, "@jupyterlab", "apputils-extension");
  fs.mkdirSync(runtime, { recursive: true });
  fs.mkdirSync(notification, { recursive: true });
  fs.mkdirSync(path.join(home, "config"), { recursive: true });
  fs.mkdirSync(path.join(home, "workspaces"), { recursive: true });
  fs.writeFileSync(path.join(notification, "notification.jupyterlab-settings"), JSON.stringify({ fetchNews: "false", checkForUpdates: false }));

  const args = [
    "lab",
    "--no-browser",
    "--ServerApp.ip=127.0.0.1",
    `--ServerApp.port=${port}`,
    "--ServerApp.port_retries=0",
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${NOTEBOOKS_DIR}`,
    "--ServerApp.terminals_enabled=False",
    "--ContentsManager.allow_hidden=True",
    "--NotebookNotary.db_file=:memory:",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    `--LabApp.workspaces_dir=${path.join(home, "workspaces")}`,
    `--LabApp.user_settings_dir=${settings}`,
  ];
  if (process.getuid?.() === 0) args.push("--allow-root");
  const env = kernelEnv({
    ...process.env,
    JUPYTER_CONFIG_DIR: path.join(home, "config"),
    JUPYTER_RUNTIME_DIR: runtime,
    BROWSER: "true",
  });
  const logFile = artifact(`jupyterlab-${label}.log`);
  const logFd = fs.openSync(logFile, "w");
  const proc: ChildProcess = spawn(path.join(PROJECT_DIR, ".venv", "bin", "jupyter"), args, {
    cwd: PROJECT_DIR,
    env,
    detached: true, // its own process group, killed as a whole
    stdio: ["ignore", logFd, logFd],
  });
  fs.closeSync(logFd);
  const pgid = proc.pid!;
  let exited = false;
  proc.once("exit", () => (exited = true));

  const hardKill = () => {
    for (const pid of pidsMentioning(runtime)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* gone */
    }
  };
  const unregister = onAbort(() => {
    // Signal path: ask politely, then make sure; then remove our temporary folder.
    try {
      process.kill(-pgid, "SIGTERM");
    } catch {
      /* gone */
    }
    hardKill();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const output = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-pgid, "SIGTERM"); // the server shuts its kernels down on SIGTERM
      } catch {
        /* gone */
      }
      const deadline = Date.now() + 15_000;
      while (!exited && Date.now() < deadline) await sleep(100);
    }
    const deadline = Date.now() + 5_000;
    while (pidsMentioning(runtime).some(alive) && Date.now() < deadline) await sleep(100);
    hardKill();
    unregister();
    fs.rmSync(home, { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`JupyterLab exited at start:\n${output().slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`JupyterLab did not answer on ${url} within 90 s:\n${output().slice(-3000)}`);
    }
    await sleep(250);
  }
  return { url, token, port, output, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Executed notebooks

interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Nb {
  cells: Array<{ cell_type: string; execution_count?: number | null; outputs?: NbOutput[] }>;
}

/** A figure's text/plain as showFigure writes it (describeFigure): `Figure "title": 2 bar traces, 30 points`. */
const FIGURE_TEXT = /^Figure( ".*")?: .*\d+ points?$/s;

export interface NotebookSummary {
  /** Display outputs that are figures (by their text/plain description). */
  figures: number;
  /** Outputs that carry the plotly MIME type. */
  plotly: number;
  /** Figures that lack the plotly MIME type (their descriptions). */
  figuresWithoutPlotly: string[];
  /** Error outputs, and stderr streams reporting an error. */
  errors: string[];
  executionCounts: Array<number | null>;
}

export function summarizeNotebook(file: string): NotebookSummary {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as Nb;
  const s: NotebookSummary = { figures: 0, plotly: 0, figuresWithoutPlotly: [], errors: [], executionCounts: [] };
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    s.executionCounts.push(cell.execution_count ?? null);
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") s.errors.push(`${out.ename}: ${out.evalue}`);
      if (out.output_type === "stream" && out.name === "stderr") {
        const text = joinText(out.text);
        if (/Error|error TS/.test(text)) s.errors.push(text.slice(0, 500));
      }
      const data = out.data ?? {};
      if (PLOTLY_MIME in data) s.plotly++;
      const plain = joinText(data["text/plain"] as string | string[] | undefined);
      if (FIGURE_TEXT.test(plain.trim())) {
        s.figures++;
        if (!(PLOTLY_MIME in data)) s.figuresWithoutPlotly.push(plain.trim());
      }
    }
  }
  return s;
}

function joinText(t: string | string[] | undefined): string {
  return Array.isArray(t) ? t.join("") : (t ?? "");
}

// ---------------------------------------------------------------------------------------------
// Pixels

export interface PixelStats {
  width: number;
  height: number;
  /** Share of pixels that are not (near) white. */
  nonWhite: number;
  /** Share of strongly coloured pixels (max - min channel > 80): chart marks, not black text. */
  saturated: number;
  /** Distinct colours (quantised to 4 bits a channel). */
  colours: number;
}

/** Decodes a PNG in Chromium (canvas) and measures how much of it is drawn on. */
export async function pngStats(browser: Browser, pngFile: string): Promise<PixelStats> {
  const dataUrl = `data:image/png;base64,${fs.readFileSync(pngFile).toString("base64")}`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    return await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let nonWhite = 0;
      let saturated = 0;
      const colours = new Set<number>();
      const n = data.length / 4;
      for (let i = 0; i < data.length; i += 4) {
        const r = data[i], g = data[i + 1], b = data[i + 2];
        if (r < 245 || g < 245 || b < 245) nonWhite++;
        if (Math.max(r, g, b) - Math.min(r, g, b) > 80) saturated++;
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
      }
      return { width: canvas.width, height: canvas.height, nonWhite: nonWhite / n, saturated: saturated / n, colours: colours.size };
    }, dataUrl);
  } finally {
    await context.close();
  }
}

/** Runs a command, failing with its output when it exits non-zero. */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: options.cwd ?? PROJECT_DIR, env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}:\n${(r.stdout ?? "").slice(-2000)}\n${(r.stderr ?? "").slice(-2000)}`);
  return r.stdout;
}
