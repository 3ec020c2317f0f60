/**
 * The notebooks in a real JupyterLab, driven through its own UI in headless Chromium (quick profile):
 *
 *  1. JupyterLab (.venv) on 127.0.0.1, a free port and a random token, rooted at notebooks/; each
 *     notebook is opened as a temporary copy (notebooks/.e2e-<run>-<name>.ipynb, removed at the end), so
 *     the committed notebooks are never saved with outputs;
 *  2. the tslab kernel ("TypeScript") is confirmed, Run → Run All Cells, wait for the kernel to go idle;
 *     no error output anywhere;
 *  3. every figure rendered as a plotly chart (the plotly renderer shows the PNG first and the interactive
 *     chart on mouse enter: both are checked), and training cells showed their progress bars;
 *  4. saved, closed (kernel shut down), then reopened on a NEW server (empty trust database: the notebook
 *     is untrusted) in a fresh browser context: the charts render from the saved outputs, nothing runs.
 *
 * Every request that would leave 127.0.0.1 fails and fails the test. Screenshots: test-artifacts/e2e/.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import {
  BREAK_FIGURES,
  LabServer,
  NOTEBOOKS_DIR,
  NotebookSummary,
  PLOTLY_MIME,
  SKIP_REASON,
  artifact,
  guardOffline,
  launchBrowser,
  log,
  onAbort,
  screenshots,
  shot,
  sleep,
  startJupyterLab,
  summarizeNotebook,
} from "./support";

/** The notebooks run in JupyterLab; `progress`: training cells must show progress bars matching it. */
const NOTEBOOKS: Array<{ file: string; progress?: RegExp }> = [
  { file: "01-data-preparation.ipynb" },
  { file: "02-models.ipynb", progress: /study models-quick\b.*\d+\/\d+/ },
];

const KERNEL_NAME = "tslab";
const KERNEL_DISPLAY_NAME = "TypeScript"; // the tslab kernel's display name (kernel.json)
const RUN_TIMEOUT_MS = 5 * 60_000;
const PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)";
const CHART = ".jp-OutputArea-output.jp-RenderedPlotly"; // the plotly MIME renderer's output widget

const runId = randomBytes(4).toString("hex");
const tempName = (file: string) => `.e2e-${runId}-${file}`;
const tempPath = (file: string) => path.join(NOTEBOOKS_DIR, tempName(file));
const slug = (file: string) => file.replace(/\.ipynb$/, "");

/** Removes our temporary notebooks and their checkpoints (and the checkpoint folder if we emptied it). */
function removeTemporaryNotebooks(checkpointDirExisted: boolean): void {
  const checkpoints = path.join(NOTEBOOKS_DIR, ".ipynb_checkpoints");
  for (const nb of NOTEBOOKS) {
    fs.rmSync(tempPath(nb.file), { force: true });
    fs.rmSync(path.join(checkpoints, tempName(nb.file).replace(/\.ipynb$/, "-checkpoint.ipynb")), { force: true });
  }
  if (!checkpointDirExisted) {
    try {
      fs.rmdirSync(checkpoints); // only when empty
    } catch {
      /* not empty or absent */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driving JupyterLab

async function statusBarKernel(page: Page): Promise<string> {
  return page.evaluate(() => {
    const item = Array.from(document.querySelectorAll("#jp-main-statusbar span.jp-StatusBar-TextItem")).find((e) =>
      (e.getAttribute("title") ?? "").startsWith("Change kernel"),
    );
    return item?.textContent?.trim() ?? "";
  });
}

/** Accepts a kernel-selection dialog with the tslab kernel, if JupyterLab shows one. */
async function answerKernelDialog(page: Page): Promise<void> {
  const dialog = page.locator(".jp-Dialog");
  if ((await dialog.count()) === 0) return;
  const select = dialog.locator("select");
  if ((await select.count()) > 0) await select.first().selectOption({ label: KERNEL_DISPLAY_NAME });
  await dialog.locator(".jp-Dialog-button.jp-mod-accept").click();
}

/** Opens a notebook, confirms it runs on the tslab kernel and waits for the kernel to be idle. */
async function openNotebook(page: Page, server: LabServer, name: string): Promise<Locator> {
  await page.goto(`${server.url}/lab/tree/${encodeURIComponent(name)}?reset&token=${server.token}`, { timeout: 90_000 });
  const panel = page.locator(PANEL);
  await panel.locator(".jp-Cell").first().waitFor({ timeout: 90_000 });
  const deadline = Date.now() + 90_000;
  for (;;) {
    await answerKernelDialog(page);
    const status = await statusBarKernel(page);
    if (status === `${KERNEL_DISPLAY_NAME} | Idle`) break;
    if (Date.now() > deadline) throw new Error(`kernel not ready after 90 s (status bar: "${status}")`);
    await sleep(250);
  }
  assert.equal((await page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").first().innerText()).trim(), name);
  assert.equal((await panel.locator(".jp-KernelName").innerText()).trim(), KERNEL_DISPLAY_NAME, "the notebook must run on the tslab kernel");
  const res = await fetch(`${server.url}/api/sessions`, { headers: { Authorization: `token ${server.token}` } });
  const sessions = (await res.json()) as Array<{ path: string; kernel?: { name?: string } }>;
  assert.equal(sessions.find((s) => s.path === name)?.kernel?.name, KERNEL_NAME, `${name}: kernel of its session`);
  return panel;
}

async function menu(page: Page, top: string, command: string): Promise<void> {
  await page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", { hasText: new RegExp(`^${top}$`) }).click();
  await page.locator(`.lm-Menu-item[data-command="${command}"]`).click();
}

interface PanelState {
  prompts: string[];
  status: string;
  progress: number;
}

async function panelState(page: Page): Promise<PanelState> {
  const status = await statusBarKernel(page);
  const rest = await page.evaluate((sel) => {
    const panel = document.querySelector(sel);
    return {
      prompts: Array.from(panel?.querySelectorAll(".jp-CodeCell .jp-InputPrompt") ?? []).map((e) => (e.textContent ?? "").trim()),
      progress: panel?.querySelectorAll(".esmm-progress").length ?? 0,
    };
  }, PANEL);
  return { status, ...rest };
}

/** Error outputs in the notebook: error MIME, or stderr text that reports an error or a stack trace. */
async function errorOutputs(page: Page): Promise<string[]> {
  return page.evaluate((sel) => {
    const found: string[] = [];
    document.querySelectorAll(`${sel} .jp-OutputArea-output`).forEach((o) => {
      const mime = o.getAttribute("data-mime-type") ?? "";
      const text = o.textContent ?? "";
      if (mime.includes("error")) found.push(text);
      else if (mime === "application/vnd.jupyter.stderr" && /Error|error TS\d+|^\s+at .+:\d+:\d+\)?$/m.test(text)) found.push(text);
    });
    document.querySelectorAll(".jp-Dialog").forEach((d) => found.push(`dialog: ${d.textContent ?? ""}`));
    return found.map((t) => t.slice(0, 1500));
  }, PANEL);
}

/** Records, in the page, every distinct progress bar text shown while cells run. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __esmmProgress: string[] };
    w.__esmmProgress = [];
    const seen = new Set<string>();
    const scan = () =>
      document.querySelectorAll(".esmm-progress").forEach((e) => {
        const t = (e.textContent ?? "").trim();
        if (!seen.has(t)) {
          seen.add(t);
          w.__esmmProgress.push(t);
        }
      });
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

/** Run → Run All Cells, then wait until every cell has run (or the run stopped) and the kernel is idle. */
async function runAll(page: Page, label: string, progress: boolean): Promise<{ seconds: number; prompts: string[] }> {
  const t0 = Date.now();
  await menu(page, "Run", "runmenu:run-all");
  let started = false;
  let runningShot = false;
  let progressShot = false;
  let idle = 0;
  for (;;) {
    const st = await panelState(page);
    const busy = st.prompts.some((p) => p.includes("*"));
    started ||= busy || st.prompts.some((p) => /\d/.test(p));
    if (busy && !runningShot) {
      runningShot = true;
      await shot(page, `${label}-2-running`);
    }
    if (busy && progress && !progressShot && st.progress > 0) {
      progressShot = true;
      try {
        await page.locator(`${PANEL} .esmm-progress`).last().scrollIntoViewIfNeeded({ timeout: 2000 });
        await shot(page, `${label}-3-progress`);
      } catch {
        /* the bar was replaced while scrolling to it: no picture, the check below still applies */
      }
    }
    const settled = started && !busy && st.status === `${KERNEL_DISPLAY_NAME} | Idle`;
    idle = settled ? idle + 1 : 0;
    if (idle >= 3) return { seconds: (Date.now() - t0) / 1000, prompts: st.prompts };
    if (Date.now() - t0 > RUN_TIMEOUT_MS) {
      await shot(page, `${label}-timeout`);
      throw new Error(`${label}: cells still running after ${RUN_TIMEOUT_MS / 1000} s (prompts ${st.prompts.join(" ")}, kernel "${st.status}")`);
    }
    await sleep(250);
  }
}

async function isDirty(page: Page): Promise<boolean> {
  return page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count().then((n) => n > 0);
}

/** File → Save Notebook, until the tab is clean (the plotly renderer may update a PNG right after a save). */
async function save(page: Page, server: LabServer, name: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = server.output().split(`Saving file at /${name}`).length;
    await menu(page, "File", "docmanager:save");
    await page.waitForFunction(() => !document.querySelector(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty"), null, { timeout: 60_000 });
    const deadline = Date.now() + 30_000;
    while (server.output().split(`Saving file at /${name}`).length === before && Date.now() < deadline) await sleep(100);
    await sleep(1000);
    if (!(await isDirty(page))) return;
  }
  throw new Error(`${name}: still modified after five saves`);
}

/** File → Close and Shut Down Notebook, confirming the dialog(s). */
async function closeAndShutDown(page: Page, server: LabServer, name: string): Promise<void> {
  await menu(page, "File", "filemenu:close-and-cleanup");
  const deadline = Date.now() + 30_000;
  while ((await page.locator(".lm-TabBar-tab .lm-TabBar-tabLabel", { hasText: name }).count()) > 0) {
    const accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept");
    if ((await accept.count()) > 0) await accept.first().click();
    if (Date.now() > deadline) throw new Error(`${name}: tab still open 30 s after Close and Shut Down`);
    await sleep(200);
  }
  for (;;) {
    const res = await fetch(`${server.url}/api/sessions`, { headers: { Authorization: `token ${server.token}` } });
    const sessions = (await res.json()) as Array<{ path: string }>;
    if (!sessions.some((s) => s.path.endsWith(name))) return;
    if (Date.now() > deadline) throw new Error(`${name}: its kernel session is still running after close and shut down`);
    await sleep(200);
  }
}

interface ChartCheck {
  /** The static PNG was what the renderer showed first. */
  pngFirst: boolean;
  traces: number;
  marks: number;
}

/**
 * Checks every plotly chart of the open notebook: the PNG shown first (or already the interactive chart),
 * then, after the mouse enters it, the interactive chart with its traces drawn. One screenshot per chart.
 */
async function checkCharts(page: Page, panel: Locator, label: string): Promise<ChartCheck[]> {
  const charts = panel.locator(CHART);
  const n = await charts.count();
  const results: ChartCheck[] = [];
  for (let i = 0; i < n; i++) {
    const chart = charts.nth(i);
    await chart.scrollIntoViewIfNeeded();
    const pngFirst = await chart.evaluate((e) => {
      const img = e.querySelector("img.plot-img") as HTMLImageElement | null;
      return !!img && getComputedStyle(img).display !== "none" && img.naturalWidth > 0 && !e.querySelector(".main-svg");
    });
    if ((await chart.locator(".main-svg").count()) === 0) {
      await page.mouse.move(0, 0);
      await chart.hover({ force: true }); // mouse enter: the renderer swaps the PNG for the interactive chart
    }
    await chart.locator(".js-plotly-plot .main-svg, .main-svg").first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(300); // let plotly finish drawing before measuring and taking the picture
    const drawn = await chart.evaluate((e) => ({
      traces: e.querySelectorAll(".main-svg .trace").length,
      marks: Array.from(e.querySelectorAll(".main-svg .trace path")).filter((p) => (p.getAttribute("d") ?? "").length > 2).length,
    }));
    assert.ok(drawn.traces > 0 && drawn.marks > 0, `${label}: chart ${i + 1} of ${n} has no drawn traces (${JSON.stringify(drawn)})`);
    await shot(chart, `${label}-chart-${i + 1}`);
    results.push({ pngFirst, ...drawn });
  }
  return results;
}

function describeCharts(checks: ChartCheck[]): string {
  return checks.map((c, i) => `chart ${i + 1}: ${c.traces} traces/${c.marks} marks${c.pngFirst ? " (png first)" : ""}`).join(", ");
}

function assertFiguresCarryPlotly(summary: NotebookSummary, label: string): void {
  assert.deepEqual(summary.errors, [], `${label}: the saved notebook holds error outputs`);
  assert.deepEqual(
    summary.figuresWithoutPlotly,
    [],
    `${label}: ${summary.figuresWithoutPlotly.length} of ${summary.figures} figures reached the notebook without the plotly MIME type ` +
      `(only ${summary.plotly} outputs carry ${PLOTLY_MIME})`,
  );
  assert.ok(summary.figures > 0, `${label}: the notebook displayed no figure at all`);
}

// ---------------------------------------------------------------------------------------------

describe("JupyterLab: the notebooks run, chart, save and reopen in a real browser", { skip: SKIP_REASON }, () => {
  let server: LabServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let leaked: string[] = [];
  const checkpointDirExisted = fs.existsSync(path.join(NOTEBOOKS_DIR, ".ipynb_checkpoints"));
  const saved = new Map<string, NotebookSummary>();
  let unregister: (() => void) | undefined;

  before(async () => {
    if (BREAK_FIGURES) log("ESMM_E2E_BREAK_FIGURES=text-only: figures reach the frontend as text/plain only (negative control)");
    unregister = onAbort(() => removeTemporaryNotebooks(checkpointDirExisted));
    for (const nb of NOTEBOOKS) fs.copyFileSync(path.join(NOTEBOOKS_DIR, nb.file), tempPath(nb.file));
    const t0 = Date.now();
    [server, browser] = await Promise.all([startJupyterLab("run"), launchBrowser()]);
    log(`JupyterLab up on ${server.url} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    leaked = await guardOffline(context);
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    removeTemporaryNotebooks(checkpointDirExisted);
    unregister?.();
    log(`screenshots:\n${screenshots.map((s) => `  ${s}`).join("\n")}`);
  });

  for (const nb of NOTEBOOKS) {
    test(`${nb.file}: Run All Cells on the tslab kernel, no error, every figure a plotly chart${nb.progress ? ", progress bars" : ""}`, { timeout: 8 * 60_000 }, async () => {
      const label = `jupyterlab-${slug(nb.file)}`;
      const name = tempName(nb.file);
      const page = await context!.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      try {
        const panel = await openNotebook(page, server!, name);
        await shot(page, `${label}-1-opened`);
        await recordProgress(page);

        const { seconds, prompts } = await runAll(page, label, !!nb.progress);
        await shot(page, `${label}-4-executed`);
        log(`${nb.file}: ran in ${seconds.toFixed(1)} s`);
        assert.deepEqual(await errorOutputs(page), [], `${nb.file}: error output in the page`);
        const notRun = prompts.filter((p) => !/^\[\d+\]:$/.test(p));
        assert.equal(notRun.length, 0, `${nb.file}: ${notRun.length} code cells did not run (prompts ${prompts.join(" ")})`);

        if (nb.progress) {
          const seen = await page.evaluate(() => (window as unknown as { __esmmProgress: string[] }).__esmmProgress);
          const matching = seen.filter((t) => nb.progress!.test(t));
          log(`${nb.file}: ${seen.length} progress states seen while running, e.g. "${matching[0] ?? seen[0] ?? "-"}"`);
          assert.ok(matching.length > 0, `${nb.file}: no progress bar matching ${nb.progress} appeared while training (saw ${JSON.stringify(seen.slice(0, 5))})`);
          assert.ok((await panel.locator(".esmm-progress").count()) > 0, `${nb.file}: the progress bars are gone from the outputs`);
        }

        await save(page, server!, name);
        const summary = summarizeNotebook(tempPath(nb.file));
        const inPage = await panel.locator(CHART).count();
        assertFiguresCarryPlotly(summary, `${nb.file} (${inPage} plotly charts in the page)`);
        assert.equal(inPage, summary.figures, `${nb.file}: ${summary.figures} figures in the saved notebook, ${inPage} plotly charts in the page`);

        const checks = await checkCharts(page, panel, label);
        log(`${nb.file}: ${checks.length} charts rendered: ${describeCharts(checks)}`);
        await save(page, server!, name); // the renderer refreshes each PNG after drawing the interactive chart
        saved.set(nb.file, summarizeNotebook(tempPath(nb.file)));
        fs.copyFileSync(tempPath(nb.file), artifact(`${label}.ipynb`));
        await closeAndShutDown(page, server!, name);
        await shot(page, `${label}-5-closed`);
        const otherErrors = pageErrors.filter((e) => !/No active debugger session/.test(e)); // tslab has no debugger
        if (otherErrors.length) log(`${nb.file}: script errors in JupyterLab: ${otherErrors.join(" | ")}`);
        assert.deepEqual(leaked, [], "requests that would have left 127.0.0.1");
      } finally {
        await page.close().catch(() => undefined);
      }
    });
  }

  test("saved notebooks reopen in a fresh browser context on a new server (untrusted): the charts render, nothing runs", { timeout: 5 * 60_000 }, async (t) => {
    if (saved.size < NOTEBOOKS.length) return t.skip("a notebook run above failed");
    await context?.close();
    context = undefined;
    await server?.stop();
    server = await startJupyterLab("reopen"); // new trust database: the saved notebooks are not trusted
    const fresh = await browser!.newContext({ viewport: { width: 1400, height: 1000 } });
    const leakedReopen = await guardOffline(fresh);
    try {
      for (const nb of NOTEBOOKS) {
        const label = `jupyterlab-${slug(nb.file)}-reopened`;
        const name = tempName(nb.file);
        const summary = saved.get(nb.file)!;
        const page = await fresh.newPage();
        const panel = await openNotebook(page, server, name);
        await sleep(1500);
        const st = await panelState(page);
        const expectedPrompts = summary.executionCounts.map((c) => `[${c ?? " "}]:`);
        assert.deepEqual(st.prompts, expectedPrompts, `${nb.file}: the reopened notebook must show the saved execution counts and run nothing`);
        assert.match(server.output(), new RegExp(`Notebook ${name.replace(/\./g, "\\.")} is not trusted`), `${nb.file}: expected the reopened notebook to be untrusted`);
        assert.deepEqual(await errorOutputs(page), [], `${nb.file}: error output after reopening`);
        const inPage = await panel.locator(CHART).count();
        assert.equal(inPage, summary.figures, `${nb.file}: ${summary.figures} figures saved, ${inPage} plotly charts after reopening`);
        await shot(page, `${label}-1-opened`);
        const checks = await checkCharts(page, panel, label);
        log(`${nb.file} reopened: ${checks.length} charts rendered from the saved outputs: ${describeCharts(checks)}`);
        assert.deepEqual((await panelState(page)).prompts, expectedPrompts, `${nb.file}: something ran after reopening`);
        await page.close();
      }
      assert.deepEqual(leakedReopen, [], "requests that would have left 127.0.0.1");
    } finally {
      await fresh.close().catch(() => undefined);
    }
  });
});
