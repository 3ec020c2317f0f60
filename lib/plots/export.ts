/**
 * Static figure export (SVG, PNG) by rendering with plotly.js inside headless Chromium.
 *
 * One browser is started lazily on the first export and shared by all later ones (starting
 * Chromium and loading plotly.js costs about two seconds; each later figure costs tens of ms).
 * saveFigure calls this only for figures that its export cache (export-cache.ts) does not hold, so a
 * rerun whose figures are all unchanged never starts Chromium.
 * The browser never keeps the Node process alive: between exports its process and pipes are
 * unref'd, so a script ends normally and Playwright's exit hook kills Chromium. It is also
 * closed after an idle period, or explicitly with `closeFigureExporter()`.
 *
 * Every request the page makes is blocked unless it is a local file, 127.0.0.1 or the
 * exporter's own in-memory host page: nothing reaches the network.
 */
import * as fs from "node:fs";
import type { Browser, Page } from "playwright-core";
import { Figure, ImageSize, normalizeFigure, plotlyBundlePath } from "./figure";
import { inKernel } from "./kernel";

export type StaticFormat = "svg" | "png";

export const CHROMIUM_INSTALL_HINT = "apt-get update && apt-get install -y chromium fonts-dejavu-core";

/** Thrown when SVG/PNG export needs Chromium and none can be found or started. */
export class ChromiumMissingError extends Error {
  constructor(detail: string) {
    super(
      `Static figure export (svg/png) needs Chromium: ${detail}. ` +
        `Install it with \`${CHROMIUM_INSTALL_HINT}\` (Debian/Ubuntu, as root), ` +
        `or set CHROMIUM_PATH to a Chromium/Chrome executable. HTML export works without it.`,
    );
    this.name = "ChromiumMissingError";
  }
}

export interface FigureExporterOptions {
  /** Chromium executable; default: $CHROMIUM_PATH, else the first of /usr/bin/chromium, ... that exists. */
  executablePath?: string;
  /** Close the browser after this long without exports (ms). Default 10 minutes. */
  idleTimeoutMs?: number;
}

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];
/** Chromium flags for headless, offline use (figure export, the PDF report, the browser tests). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The page that hosts plotly.js; served from memory by the route handler, never fetched. */
const HOST_URL = "http://127.0.0.1/__esmm_figure_exporter__/index.html";
const BUNDLE_URL = "http://127.0.0.1/__esmm_figure_exporter__/plotly.min.js";

let settings: FigureExporterOptions = {};

interface Session {
  browser: Browser;
  page: Page;
}

let session: Promise<Session> | null = null;
let liveBrowser: Browser | null = null;
let queue: Promise<unknown> = Promise.resolve();
let idleTimer: NodeJS.Timeout | null = null;
let busy = 0;
let keepAlive: NodeJS.Timeout | null = null;

/** Change exporter settings (takes effect at the next browser start). */
export function configureFigureExporter(options: FigureExporterOptions): void {
  settings = { ...settings, ...options };
}

/** Finds the Chromium executable or throws ChromiumMissingError. */
export function findChromium(): string {
  const explicit = settings.executablePath ?? process.env.CHROMIUM_PATH;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new ChromiumMissingError(`"${explicit}" (from ${settings.executablePath ? "configureFigureExporter" : "CHROMIUM_PATH"}) is not an executable file`);
  }
  const found = CANDIDATES.find(isExecutable);
  if (!found) throw new ChromiumMissingError(`no executable found at ${CANDIDATES.join(", ")}`);
  return found;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** True when a browser is running (for diagnostics and tests). */
export function figureExporterRunning(): boolean {
  return session !== null;
}

/**
 * Renders a figure to SVG text or PNG bytes with `Plotly.toImage` in the shared browser.
 * The PNG is exactly `width*scale` x `height*scale` pixels.
 */
export async function renderFigure(fig: Figure, format: "svg", size: ImageSize): Promise<string>;
export async function renderFigure(fig: Figure, format: "png", size: ImageSize): Promise<Buffer>;
export async function renderFigure(fig: Figure, format: StaticFormat, size: ImageSize): Promise<string | Buffer>;
export async function renderFigure(fig: Figure, format: StaticFormat, size: ImageSize): Promise<string | Buffer> {
  const plain = normalizeFigure(fig);
  return withKeepAlive(async () => {
    const task = queue.then(async () => {
      const { page } = await getSession();
      const out = await page.evaluate(
        async ({ figure, opts }) => {
          const Plotly = (window as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
          try {
            return { ok: true as const, data: await Plotly.toImage(figure, opts) };
          } catch (e) {
            return { ok: false as const, error: e instanceof Error ? e.message : String(e) };
          }
        },
        {
          figure: { data: plain.data, layout: plain.layout ?? {}, config: plain.config ?? {} },
          opts: { format, width: size.width, height: size.height, scale: size.scale, imageDataOnly: true },
        },
      );
      if (!out.ok) throw new Error(`plotly.js could not render the figure as ${format}: ${out.error}`);
      return format === "png" ? Buffer.from(out.data, "base64") : out.data;
    });
    queue = task.catch(() => undefined);
    try {
      return await task;
    } finally {
      scheduleIdleClose();
    }
  });
}

/** Closes the shared browser (a later export starts a new one). Safe to call at any time. */
export async function closeFigureExporter(): Promise<void> {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  const s = session;
  session = null;
  liveBrowser = null;
  if (!s) return;
  // Keep the process alive until the browser is closed (its own handles are unref'd).
  await withKeepAlive(async () => {
    try {
      const { browser } = await s;
      await browser.close();
    } catch {
      // it failed to start or is already gone
    }
  });
}

async function withKeepAlive<T>(fn: () => Promise<T>): Promise<T> {
  // While an export is in flight, hold a ref'd handle: the browser's own handles are unref'd.
  if (busy++ === 0) keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await fn();
  } finally {
    if (--busy === 0 && keepAlive) {
      clearInterval(keepAlive);
      keepAlive = null;
    }
  }
}

function scheduleIdleClose(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (busy === 0) void closeFigureExporter();
  }, settings.idleTimeoutMs ?? 10 * 60_000);
  idleTimer.unref();
}

function getSession(): Promise<Session> {
  if (!session) {
    const starting = startSession();
    session = starting;
    starting.catch(() => {
      if (session === starting) session = null;
    });
  }
  return session;
}

async function startSession(): Promise<Session> {
  const executablePath = findChromium();
  let chromium: typeof import("playwright-core").chromium;
  try {
    // Loaded on first use only: plain `require`, which also works where dynamic import() does not (vm contexts).
    ({ chromium } = require("playwright-core") as typeof import("playwright-core"));
  } catch (e) {
    throw new Error(`playwright-core is needed for svg/png export and could not be loaded: ${(e as Error).message}`);
  }
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      args: CHROMIUM_ARGS,
      // In a Jupyter kernel SIGINT means "interrupt the cell", not "exit": leave it alone.
      handleSIGINT: !inKernel(),
      timeout: 60_000,
    });
  } catch (e) {
    throw new ChromiumMissingError(`"${executablePath}" could not be started (${firstLine((e as Error).message)})`);
  }
  unrefBrowserProcess(executablePath);
  try {
    // Crashed or killed: forget it, the next export starts a new one.
    browser.on("disconnected", () => {
      if (liveBrowser === browser) {
        liveBrowser = null;
        session = null;
      }
    });
    liveBrowser = browser;
    const context = await browser.newContext({ deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const bundle = fs.readFileSync(plotlyBundlePath());
    await page.route("**/*", async (route) => {
      const url = route.request().url();
      if (url === HOST_URL) {
        return route.fulfill({
          contentType: "text/html; charset=utf-8",
          body: `<!DOCTYPE html><html><head><meta charset="utf-8"><script src="${BUNDLE_URL}"></script></head><body></body></html>`,
        });
      }
      if (url === BUNDLE_URL) return route.fulfill({ contentType: "application/javascript; charset=utf-8", body: bundle });
      if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      return route.abort("blockedbyclient");
    });
    await page.goto(HOST_URL, { waitUntil: "load" });
    const loaded = await page.evaluate(() => typeof (window as unknown as { Plotly?: unknown }).Plotly === "object");
    if (!loaded) throw new Error("plotly.js did not load in the export page");
    return { browser, page };
  } catch (e) {
    await browser.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Lets the process exit while the browser runs: unref Chromium's child process and its pipes.
 * (Playwright kills the browser in its own process 'exit' hook.) Uses Node's long-standing but
 * undocumented `process._getActiveHandles()`; if that is missing, the idle timeout closes the browser.
 */
function unrefBrowserProcess(executablePath: string): void {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof getHandles !== "function") {
    settings = { idleTimeoutMs: 5_000, ...settings };
    return;
  }
  for (const h of getHandles.call(process)) {
    const child = h as { spawnfile?: string; stdio?: Array<{ unref?: () => void } | null>; unref?: () => void };
    if (child?.constructor?.name === "ChildProcess" && child.spawnfile === executablePath) {
      child.unref?.();
      for (const s of child.stdio ?? []) s?.unref?.();
    }
  }
}

function firstLine(s: string): string {
  return s.split("\n").find((l) => l.trim() !== "")?.trim() ?? s;
}
