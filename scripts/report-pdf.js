#!/usr/bin/env node
// PDF export of HTML reports through headless Chromium (A4, charts rendered first, nothing fetched from the network).
//   node scripts/report-pdf.js reports/01-data-preparation.html            -> reports/01-data-preparation.pdf
//   node scripts/report-pdf.js --out-dir reports/pdf reports/*.html
//   node scripts/report-pdf.js --strict reports/x.html                     fail if the page tries to reach the network
// Needs the compiled library (`make build`) and Chromium (`make system`, or CHROMIUM_PATH).
const path = require("node:path");

function usage(code) {
  (code ? console.error : console.log)("usage: node scripts/report-pdf.js [--strict] [--out FILE.pdf | --out-dir DIR] REPORT.html...");
  process.exit(code);
}

async function main(argv) {
  let pdf;
  try {
    pdf = require(path.join(__dirname, "..", "build", "lib", "report", "pdf.js"));
  } catch (e) {
    if (e.code === "MODULE_NOT_FOUND") {
      console.error("report-pdf: the library is not built; run `make build` first");
      return 2;
    }
    throw e;
  }
  const inputs = [];
  let out;
  let outDir;
  let strict = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") usage(0);
    else if (a === "--strict") strict = true;
    else if (a === "--out") out = argv[++i];
    else if (a === "--out-dir") outDir = argv[++i];
    else if (a.startsWith("-")) usage(2);
    else inputs.push(a);
  }
  if (inputs.length === 0 || (out && inputs.length > 1) || (out === undefined && argv.includes("--out"))) usage(2);
  const { chromium } = require("playwright-core");
  const { CHROMIUM_ARGS, findChromium } = require(path.join(__dirname, "..", "build", "lib", "plots", "export.js"));
  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
  let status = 0;
  try {
    for (const html of inputs) {
      const target = out ?? path.join(outDir ?? path.dirname(html), path.basename(html).replace(/\.html?$/i, "") + ".pdf");
      try {
        const r = await pdf.exportPdf(html, target, { browser, strictOffline: strict });
        console.log(`${path.relative(process.cwd(), r.pdfFile)}: ${(r.bytes / 1024).toFixed(0)} KiB, ${r.renderedCharts}/${r.charts} charts, ${r.tables} tables (${r.tablesShrunk} set smaller to fit the page${r.tablesWiderThanPage ? `, ${r.tablesWiderThanPage} still wider than it` : ""}), ${r.seconds.toFixed(1)} s`);
        if (r.blockedRequests.length > 0) {
          console.warn(`  blocked ${r.blockedRequests.length} request(s) that would have left the machine:`);
          for (const u of r.blockedRequests) console.warn(`    ${u}`);
        }
        for (const e of r.pageErrors) console.warn(`  page error: ${e}`);
      } catch (e) {
        console.error(`${html}: ${e && e.message ? e.message : e}`);
        status = 1;
      }
    }
  } finally {
    await browser.close();
  }
  return status;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  },
);
