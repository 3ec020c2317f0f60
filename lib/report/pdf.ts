/**
 * PDF export of an HTML report (an nbconvert export of an executed notebook, or any page with plotly
 * charts) through headless Chromium's page.pdf(): A4, backgrounds printed, page numbers in the footer.
 *
 *   const r = await exportPdf("reports/01-data-preparation.html", "reports/01-data-preparation.pdf");
 *
 * The page is laid out at the printable width of A4 before it loads, so plotly sizes its charts for the
 * paper, and the PDF is printed only once every chart has rendered (`.main-svg` inside each chart).
 * Tables are fitted to the printable width: output areas stop scrolling (a scroll box prints cut at the margin),
 * a table wider than its page is set in a smaller font (down to 55 % of its size) and then allowed to wrap its
 * cells; `tables` and `tablesWiderThanPage` in the result say how many there were and how many still do not fit.
 *
 * Offline: every request that is not a local file, data:, blob: or 127.0.0.1 is blocked and recorded in
 * `blockedRequests` (with `strictOffline`, the export fails instead). Nothing reaches the network.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM_ARGS, findChromium } from "../plots/export";
import { makeDirs } from "../data/output-paths";

export interface PdfExportOptions {
  /** Chromium executable; default as for figure export ($CHROMIUM_PATH, else /usr/bin/chromium, ...). */
  executablePath?: string;
  /** Reuse this browser instead of starting (and closing) one. */
  browser?: Browser;
  /** How long to wait for the charts to render (ms, default 60 s). */
  chartTimeoutMs?: number;
  /** Fail when a chart has not rendered in time (default true); otherwise print what is there. */
  requireCharts?: boolean;
  /** Fail when the page tried to reach anything but local files and 127.0.0.1 (default false: block and report). */
  strictOffline?: boolean;
  /** Page margins (CSS lengths); default 12mm top, 14mm bottom, 10mm sides. */
  margin?: { top?: string; bottom?: string; left?: string; right?: string };
  /** Page number footer (default true). */
  pageNumbers?: boolean;
}

export interface PdfExportResult {
  pdfFile: string;
  bytes: number;
  /** Charts found in the page (plotly divs) and how many of them rendered. */
  charts: number;
  renderedCharts: number;
  /** Requests that were blocked because they would have left the machine. */
  blockedRequests: string[];
  /** Uncaught errors in the page's scripts. */
  pageErrors: string[];
  /** Tables in the page, those set in a smaller font to fit the page, and those still wider than the printable width. */
  tables: number;
  tablesShrunk: number;
  tablesWiderThanPage: number;
  seconds: number;
}

const A4_WIDTH_MM = 210;
const PX_PER_MM = 96 / 25.4;
const DEFAULT_MARGIN = { top: "12mm", bottom: "14mm", left: "10mm", right: "10mm" };

/** True for URLs a report may load: local files, inline data, and this machine's loopback server. */
export function isLocalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === "file:" || u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return true;
  if (u.protocol === "http:" || u.protocol === "https:" || u.protocol === "ws:" || u.protocol === "wss:") {
    return u.hostname === "127.0.0.1";
  }
  return false;
}

/** Blocks every request of the page that would leave the machine; returns the live list of blocked URLs. */
export async function blockNetwork(target: Pick<BrowserContext, "route">): Promise<string[]> {
  const blocked: string[] = [];
  await target.route("**/*", (route) => {
    const url = route.request().url();
    if (isLocalUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return blocked;
}

/**
 * Waits until every chart of the page has rendered: each `.esmm-figure` (showFigure's HTML output) and
 * each other `.js-plotly-plot` holds a `.main-svg`. Returns the number of charts and of rendered ones.
 */
export async function waitForCharts(page: Page, timeoutMs = 60_000): Promise<{ charts: number; rendered: number }> {
  const count = () =>
    page.evaluate(() => {
      const charts = new Set<Element>();
      document.querySelectorAll(".esmm-figure").forEach((e) => charts.add(e));
      document.querySelectorAll(".js-plotly-plot").forEach((e) => {
        if (!e.closest(".esmm-figure")) charts.add(e);
      });
      let rendered = 0;
      charts.forEach((c) => {
        if (c.querySelector(".main-svg")) rendered++;
      });
      return { charts: charts.size, rendered };
    });
  const deadline = Date.now() + timeoutMs;
  let last = await count();
  while (last.rendered < last.charts && Date.now() < deadline) {
    await page.waitForTimeout(200);
    last = await count();
  }
  return last;
}

/** Prints an HTML file to an A4 PDF once its charts have rendered. */
export async function exportPdf(htmlFile: string, pdfFile: string, options: PdfExportOptions = {}): Promise<PdfExportResult> {
  const started = Date.now();
  const input = path.resolve(htmlFile);
  if (!fs.existsSync(input)) throw new Error(`exportPdf: no such file: ${htmlFile}`);
  const output = path.resolve(pdfFile);
  const margin = { ...DEFAULT_MARGIN, ...(options.margin ?? {}) };
  const widthPx = Math.floor((A4_WIDTH_MM - mm(margin.left) - mm(margin.right)) * PX_PER_MM);

  let browser = options.browser;
  const ownBrowser = !browser;
  if (!browser) {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: options.executablePath ?? findChromium(), args: CHROMIUM_ARGS });
  }
  const context = await browser.newContext({ viewport: { width: widthPx, height: 1100 } });
  try {
    const page = await context.newPage();
    const blocked = await blockNetwork(context);
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(pathToFileURL(input).href, { waitUntil: "load", timeout: 120_000 });
    const { charts, rendered } = await waitForCharts(page, options.chartTimeoutMs ?? 60_000);
    if (rendered < charts && options.requireCharts !== false) {
      throw new Error(`exportPdf: ${charts - rendered} of ${charts} charts did not render in ${htmlFile}`);
    }
    if (blocked.length > 0 && options.strictOffline) {
      throw new Error(`exportPdf: ${htmlFile} tried to reach the network: ${blocked.join(", ")}`);
    }
    // Keep a chart, a table or an image on one page when it fits; output areas print whole, never as a cut scroll box.
    await page.addStyleTag({
      content:
        "@media print { .jp-OutputArea-output, .esmm-figure, .js-plotly-plot, table, img { break-inside: avoid; page-break-inside: avoid; } " +
        ".jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown, .jp-Cell-outputWrapper { overflow: visible !important; max-width: 100% !important; } }",
    });
    // Lay the page out as it will print, then let plotly resize every chart to its (print) container.
    await page.emulateMedia({ media: "print" });
    const fit = await page.evaluate((printableWidth: number) => {
      const tables = Array.from(document.querySelectorAll("table"));
      const width = (t: HTMLTableElement) => t.getBoundingClientRect().width;
      const limit = (t: HTMLTableElement) => Math.min(printableWidth, t.parentElement?.getBoundingClientRect().width || printableWidth);
      let shrunk = 0;
      for (const t of tables) {
        if (width(t) <= limit(t) + 0.5) continue;
        shrunk++;
        const size = parseFloat(getComputedStyle(t).fontSize) || 13;
        // smaller type first (a table reads best unwrapped), then wrapped cells
        for (let scale = 0.9; scale >= 0.55 && width(t) > limit(t) + 0.5; scale -= 0.05) t.style.fontSize = `${(size * scale).toFixed(2)}px`;
        if (width(t) > limit(t) + 0.5) {
          t.style.tableLayout = "fixed";
          t.style.width = "100%";
          for (const cell of Array.from(t.querySelectorAll("td, th")) as HTMLElement[]) {
            cell.style.whiteSpace = "normal";
            cell.style.overflowWrap = "anywhere";
          }
        }
      }
      return { tables: tables.length, shrunk, wide: tables.filter((t) => width(t) > limit(t) + 0.5).length };
    }, widthPx);
    await page.evaluate(async () => {
      const Plotly = (window as unknown as { Plotly?: { Plots: { resize(gd: Element): Promise<unknown> } } }).Plotly;
      if (Plotly) {
        for (const gd of Array.from(document.querySelectorAll(".js-plotly-plot"))) {
          await Plotly.Plots.resize(gd).catch(() => undefined);
        }
      }
      await document.fonts.ready;
    });
    makeDirs(path.dirname(output));
    const footer =
      `<div style="font-size:8px;font-family:sans-serif;color:#666;width:100%;text-align:center;">` +
      `<span class="title"></span> · <span class="pageNumber"></span> / <span class="totalPages"></span></div>`;
    await page.pdf({
      path: output,
      format: "A4",
      printBackground: true,
      margin,
      displayHeaderFooter: options.pageNumbers !== false,
      headerTemplate: "<span></span>",
      footerTemplate: footer,
    });
    return {
      pdfFile: output,
      bytes: fs.statSync(output).size,
      charts,
      renderedCharts: rendered,
      blockedRequests: [...blocked],
      pageErrors,
      tables: fit.tables,
      tablesShrunk: fit.shrunk,
      tablesWiderThanPage: fit.wide,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await context.close().catch(() => undefined);
    if (ownBrowser) await browser.close().catch(() => undefined);
  }
}

/** "12mm" -> 12, "1cm" -> 10, "0.5in" -> 12.7, "20px" -> 5.29 (CSS px at 96 dpi). */
function mm(length: string): number {
  const m = /^\s*([\d.]+)\s*(mm|cm|in|px)?\s*$/.exec(length);
  if (!m) throw new Error(`exportPdf: cannot read margin "${length}" (use mm, cm, in or px)`);
  const v = Number(m[1]);
  switch (m[2] ?? "px") {
    case "mm":
      return v;
    case "cm":
      return v * 10;
    case "in":
      return v * 25.4;
    default:
      return v / PX_PER_MM;
  }
}
