/**
 * The HTML reports (nbconvert exports of the executed notebooks, reports/) in headless Chromium, offline:
 * every request that would leave the machine fails and fails the test; every chart of the executed
 * notebook renders in the page; and the PDF export (lib/report/pdf.ts) of a report has a drawn first page
 * and charts in it. `make test` makes its own reports in test-artifacts/reports (ESMM_E2E_REPORTS_DIR); `make
 * test-browser` alone checks reports/ when `make reproduce` made them all, else makes quick-profile ones in
 * test-artifacts/reports first and checks those (reports/ is never written here).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { exportPdf, waitForCharts } from "../../lib/report/pdf";
import {
  PROJECT_DIR,
  SKIP_REASON,
  artifact,
  guardOffline,
  kernelEnv,
  launchBrowser,
  log,
  pngStats,
  run,
  screenshots,
  shot,
  summarizeNotebook,
} from "./support";

export interface ReportSpec {
  /** The HTML report, relative to the reports folder. */
  html: string;
  /** Executed notebooks (relative to the reports folder) whose figures the report must show as charts. */
  executed: string[];
  /** Notebooks that `scripts/run-notebooks.sh --report` runs to make the report when it is missing. */
  sources: string[];
}

const PAPER_NOTEBOOKS = ["01-data-preparation", "02-models", "03-ablation-study", "04-statistical-comparison"];

/** The reports checked in the browser: one per notebook and the combined report of `make reproduce`. */
export const REPORTS: ReportSpec[] = [
  ...PAPER_NOTEBOOKS.map((n) => ({ html: `${n}.html`, executed: [`${n}.ipynb`], sources: [`notebooks/${n}.ipynb`] })),
  { html: "esmm-lab-report.html", executed: PAPER_NOTEBOOKS.map((n) => `${n}.ipynb`), sources: PAPER_NOTEBOOKS.map((n) => `notebooks/${n}.ipynb`) },
];

/** The report printed to PDF (`make report-pdf`): the combined one. */
const PDF_REPORT = REPORTS[REPORTS.length - 1];

/** ESMM_E2E_REPORTS_DIR checks reports there (they are then never generated); else reports/ or test-artifacts/reports. */
const GIVEN_REPORTS_DIR = process.env.ESMM_E2E_REPORTS_DIR ? path.resolve(process.env.ESMM_E2E_REPORTS_DIR) : undefined;
const REPRODUCE_REPORTS_DIR = path.join(PROJECT_DIR, "reports");
const TEST_REPORTS_DIR = path.join(PROJECT_DIR, "test-artifacts", "reports");
/** The folder checked (set before the tests run). */
let REPORTS_DIR = GIVEN_REPORTS_DIR ?? REPRODUCE_REPORTS_DIR;

const missingIn = (dir: string) => REPORTS.filter((r) => [r.html, ...r.executed].some((f) => !fs.existsSync(path.join(dir, f))));

/**
 * The executed notebooks a report was built from: for the combined report, the list export-reports.py wrote
 * beside it (`make sensitivity` adds notebook 05, a report of one notebook holds only that one), else the spec's.
 */
function executedOf(spec: ReportSpec): string[] {
  const list = path.join(REPORTS_DIR, spec.html.replace(/\.html?$/, ".notebooks.json"));
  if (!fs.existsSync(list)) return spec.executed;
  return (JSON.parse(fs.readFileSync(list, "utf8")) as { notebooks: string[] }).notebooks;
}

function expectedCharts(spec: ReportSpec): number {
  let figures = 0;
  for (const nb of executedOf(spec)) {
    const s = summarizeNotebook(path.join(REPORTS_DIR, nb));
    assert.deepEqual(s.figuresWithoutPlotly, [], `${nb}: figures without the plotly MIME type`);
    assert.equal(s.plotly, s.figures, `${nb}: outputs with the plotly MIME type vs figures`);
    figures += s.plotly;
  }
  assert.ok(figures > 0, `${spec.html}: the executed notebooks hold no figure`);
  return figures;
}

const slug = (html: string) => path.basename(html).replace(/\.html?$/, "");

describe("HTML reports and their PDF export, offline in a real browser", { skip: SKIP_REASON }, () => {
  let browser: Browser | undefined;

  before(async () => {
    const missing = missingIn(REPORTS_DIR);
    if (missing.length > 0) {
      if (GIVEN_REPORTS_DIR) throw new Error(`missing in ${REPORTS_DIR}: ${missing.map((r) => r.html).join(", ")}`);
      // make reproduce's reports are not all there: make every report on the quick profile in test-artifacts/reports
      REPORTS_DIR = TEST_REPORTS_DIR;
      const sources = [...new Set(REPORTS.flatMap((r) => r.sources))];
      const t0 = Date.now();
      const out = run("bash", ["scripts/run-notebooks.sh", "--report", ...sources], { env: { ...kernelEnv(), ESMM_REPORTS_DIR: TEST_REPORTS_DIR } });
      fs.writeFileSync(artifact("reports-generation.log"), out);
      log(`reports/ lacks ${missing.map((r) => r.html).join(", ")}: made every report in ${path.relative(PROJECT_DIR, TEST_REPORTS_DIR)} (quick profile) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const still = missingIn(REPORTS_DIR);
      if (still.length > 0) throw new Error(`missing in ${REPORTS_DIR} after making them: ${still.map((r) => r.html).join(", ")}`);
    }
    log(`checking the reports in ${path.relative(PROJECT_DIR, REPORTS_DIR)}`);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    log(`screenshots:\n${screenshots.map((s) => `  ${s}`).join("\n")}`);
  });

  for (const spec of REPORTS) {
    test(`${spec.html}: every chart renders, nothing is fetched from the network`, { timeout: 3 * 60_000 }, async () => {
      const expected = expectedCharts(spec);
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      const leaked = await guardOffline(context);
      try {
        const page = await context.newPage();
        const pageErrors: string[] = [];
        page.on("pageerror", (e) => pageErrors.push(e.message));
        await page.goto(pathToFileURL(path.join(REPORTS_DIR, spec.html)).href, { waitUntil: "load", timeout: 120_000 });
        const { charts, rendered } = await waitForCharts(page, 60_000);
        const drawn = await page.evaluate(() =>
          Array.from(document.querySelectorAll(".js-plotly-plot"))
            .filter((p) => p.querySelector(".main-svg"))
            .map((p) => ({
              traces: p.querySelectorAll(".main-svg .trace").length,
              marks: Array.from(p.querySelectorAll(".main-svg .trace path")).filter((e) => (e.getAttribute("d") ?? "").length > 2).length,
            })),
        );
        const missingPlotly = await page.locator("text=plotly.js is not loaded in this page").count();
        await shot(page, `report-${slug(spec.html)}`, true);
        log(`${spec.html}: ${rendered}/${charts} charts rendered (expected ${expected}); ${drawn.map((d) => `${d.traces}/${d.marks}`).join(" ")} traces/marks`);

        assert.deepEqual(leaked, [], `${spec.html} tried to reach the network (requests failed offline)`);
        assert.equal(charts, expected, `${spec.html}: chart divs in the page vs plotly outputs in the executed notebook`);
        assert.equal(rendered, expected, `${spec.html}: charts with .main-svg vs plotly outputs in the executed notebook`);
        assert.equal(drawn.length, expected);
        drawn.forEach((d, i) => assert.ok(d.traces > 0 && d.marks > 0, `${spec.html}: chart ${i + 1} has no drawn traces`));
        assert.equal(missingPlotly, 0, `${spec.html}: "plotly.js is not loaded" shown`);
        assert.deepEqual(pageErrors, [], `${spec.html}: script errors in the page`);
      } finally {
        await context.close();
      }
    });
  }

  test(`PDF export of ${PDF_REPORT.html}: A4, charts rendered, page 1 drawn`, { timeout: 3 * 60_000 }, async () => {
    const expected = expectedCharts(PDF_REPORT);
    const name = slug(PDF_REPORT.html);
    const pdf = artifact(`report-${name}.pdf`);
    const r = await exportPdf(path.join(REPORTS_DIR, PDF_REPORT.html), pdf, { browser });
    log(`${path.relative(PROJECT_DIR, pdf)}: ${(r.bytes / 1024).toFixed(0)} KiB, ${r.renderedCharts}/${r.charts} charts, ${r.seconds.toFixed(1)} s` +
      (r.blockedRequests.length ? `; blocked offline: ${r.blockedRequests.join(", ")}` : ""));
    assert.equal(r.charts, expected, "charts in the printed page");
    assert.equal(r.renderedCharts, expected, "charts rendered before printing");
    // Every table fits the page's printable width (the headline table's last columns were cut at the margin).
    log(`tables: ${r.tables}, set smaller to fit: ${r.tablesShrunk}, still wider than the page: ${r.tablesWiderThanPage}`);
    assert.ok(r.tables > 0, "the report has tables");
    assert.equal(r.tablesWiderThanPage, 0, "tables wider than the printable width");
    assert.ok(fs.readFileSync(pdf).subarray(0, 5).toString() === "%PDF-", "not a PDF file");

    const info = run("pdfinfo", [pdf]);
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
    assert.ok(pages >= 1, `pdfinfo: ${info}`);
    assert.match(info, /^Page size:.*\(A4\)/m, "A4 pages");

    // Page 1 at 60 dpi: not blank.
    const prefix = artifact(`report-${name}-page1`);
    run("pdftoppm", ["-png", "-f", "1", "-l", "1", "-r", "60", "-singlefile", pdf, prefix]);
    screenshots.push(path.relative(PROJECT_DIR, `${prefix}.png`));
    const first = await pngStats(browser!, `${prefix}.png`);
    log(`page 1 of ${pages}: ${first.width}x${first.height} px, ${(100 * first.nonWhite).toFixed(1)} % not white, ${first.colours} colours`);
    assert.ok(Math.abs(first.width - 496) <= 2 && Math.abs(first.height - 702) <= 2, `A4 at 60 dpi is 496x702, got ${first.width}x${first.height}`);
    assert.ok(first.nonWhite > 0.02, `page 1 is (nearly) blank: ${(100 * first.nonWhite).toFixed(2)} % of its pixels are not white`);
    assert.ok(first.colours > 8, `page 1 has only ${first.colours} colours`);

    // The charts made it onto paper: some page holds strongly coloured marks.
    const pagesPrefix = artifact(`report-${name}-pages`);
    run("pdftoppm", ["-png", "-r", "30", pdf, pagesPrefix]);
    const pageFiles = fs.readdirSync(path.dirname(pagesPrefix)).filter((f) => f.startsWith(path.basename(pagesPrefix)) && f.endsWith(".png"));
    let mostColour = 0;
    for (const f of pageFiles) {
      const s = await pngStats(browser!, path.join(path.dirname(pagesPrefix), f));
      mostColour = Math.max(mostColour, s.saturated);
      fs.rmSync(path.join(path.dirname(pagesPrefix), f));
    }
    assert.equal(pageFiles.length, pages);
    assert.ok(mostColour > 0.005, `no page of the PDF shows coloured chart marks (best page: ${(100 * mostColour).toFixed(2)} %)`);
  });
});
