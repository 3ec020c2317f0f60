/**
 * Tests of lib/plots: saveFigure (html / svg / png), showFigure's MIME bundle, chart builders,
 * progress display. SVG/PNG need Chromium: when it is missing those tests FAIL with the install
 * hint (CI installs it); they are never skipped.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Writable } from "node:stream";
import type { Browser, Page } from "playwright-core";
import { PROJECT_DIR } from "./paths";
import {
  ChromiumMissingError,
  PALETTE,
  PLOTLY_MIME,
  barWithErrors,
  closeFigureExporter,
  configureFigureExporter,
  createProgress,
  defaultFiguresDir,
  findChromium,
  funnelChart,
  lineChart,
  plotlyBundlePath,
  reliabilityDiagram,
  resetPlotlyInlining,
  saveFigure,
  showFigure,
  withTemplate,
} from "../lib/plots";
import type { Figure, FigureBundle } from "../lib/plots";
import { formatProgressLine } from "../lib/plots/progress";
import { formatCount as progressCount, formatDuration, formatProgressNumber, formatRate } from "../lib/format";

const CATEGORIES = ["ESMM", "ESCM2-IPW", "ESCM2-DR", "Naive CVR", "Shared-bottom"];
const BAR_FIG = barWithErrors(CATEGORIES, [0.612, 0.634, 0.641, 0.583, 0.6], [0.01, 0.012, 0.008, 0.02, 0.011], {
  title: "CVR AUC by model",
  yTitle: "AUC",
});

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-plots-test-"));
});
after(async () => {
  await closeFigureExporter();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

interface DecodedPng {
  width: number;
  height: number;
  colorType: number;
  /** RGBA bytes, 4 per pixel. */
  rgba: Buffer;
}

/** Minimal PNG decoder (8-bit RGB/RGBA, non-interlaced), enough for Chromium's canvas output. */
function decodePng(buf: Buffer): DecodedPng {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  let off = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  assert.equal(bitDepth, 8, "8-bit PNG");
  assert.equal(interlace, 0, "non-interlaced PNG");
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(channels > 0, `RGB or RGBA PNG expected, color type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) out[(y * width + x) * 4 + k] = k < channels ? line[x * channels + k] : 255;
    }
    prev = line;
  }
  return { width, height, colorType, rgba: out };
}

function distinctColors(png: DecodedPng): Set<number> {
  const colors = new Set<number>();
  for (let i = 0; i < png.rgba.length; i += 4) colors.add(png.rgba.readUInt32BE(i));
  return colors;
}

function hexToRgba(hex: string): number {
  return ((parseInt(hex.slice(1), 16) << 8) | 0xff) >>> 0;
}

/** A browser of the test's own, to look at outputs like a person would; nothing reaches the network. */
async function withTestPage<T>(fn: (page: Page, offsiteRequests: string[]) => Promise<T>): Promise<T> {
  const { chromium } = await import("playwright-core");
  const browser: Browser = await chromium.launch({
    executablePath: findChromium(),
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const offsite: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    return await fn(page, offsite);
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe("without Chromium", () => {
  test("svg/png export fails with the install hint, html is still written; showFigure leaves out the PNG", async () => {
    await closeFigureExporter();
    configureFigureExporter({ executablePath: path.join(tmp, "no-such-chromium") });
    try {
      const dir = path.join(tmp, "nochromium");
      await assert.rejects(saveFigure(BAR_FIG, "bars", { dir }), (e: unknown) => {
        assert.ok(e instanceof ChromiumMissingError, String(e));
        assert.match((e as Error).message, /apt-get install -y chromium/);
        return true;
      });
      assert.ok(fs.existsSync(path.join(dir, "bars.html")), "html written before the static export failed");
      assert.deepEqual(await saveFigure(BAR_FIG, "only-html", { dir, formats: ["html"] }), [path.join(dir, "only-html.html")]);

      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
      let bundle: FigureBundle | undefined;
      try {
        bundle = await showFigure(BAR_FIG);
      } finally {
        console.warn = warn;
      }
      assert.ok(bundle);
      assert.deepEqual(Object.keys(bundle.data).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
      assert.match(bundle.data["text/plain"], /apt-get install -y chromium/);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /apt-get install -y chromium/);
    } finally {
      configureFigureExporter({ executablePath: undefined });
    }
  });
});

describe("saveFigure", () => {
  test("default folder is <project>/figures, or $ESMM_FIGURES_DIR (make test's test-artifacts/figures)", () => {
    assert.equal(defaultFiguresDir({}), path.join(PROJECT_DIR, "figures"));
    assert.equal(defaultFiguresDir({ ESMM_FIGURES_DIR: " " }), path.join(PROJECT_DIR, "figures"));
    assert.equal(defaultFiguresDir({ ESMM_FIGURES_DIR: "/tmp/esmm-figures" }), "/tmp/esmm-figures");
    assert.equal(defaultFiguresDir({ ESMM_FIGURES_DIR: "out/figures" }), path.resolve("out/figures"));
  });

  test("first export (browser start) and later ones; returns the paths written", async (t) => {
    await closeFigureExporter();
    const dir = path.join(tmp, "timing");
    let t0 = performance.now();
    const files = await saveFigure(BAR_FIG, "first", { dir });
    const first = performance.now() - t0;
    assert.deepEqual(files, ["html", "svg", "png"].map((ext) => path.join(dir, `first.${ext}`)));
    for (const f of files) assert.ok(fs.statSync(f).size > 0, f);
    const later: number[] = [];
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      await saveFigure(lineChart([{ name: "s", x: [1, 2, 3], y: [i, 2, 1] }]), `later-${i}`, { dir, formats: ["svg", "png"] });
      later.push(performance.now() - t0);
    }
    t.diagnostic(`first figure (html+svg+png, incl. browser start): ${first.toFixed(0)} ms; later (svg+png): ${later.map((x) => x.toFixed(0)).join(", ")} ms`);
  });

  test("html is self-contained: plotly.js inlined, no script src, no CDN, renders offline", async () => {
    const dir = path.join(tmp, "html");
    const [file] = await saveFigure(BAR_FIG, "bars", { dir, formats: ["html"] });
    const html = fs.readFileSync(file, "utf8");
    assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i, "no <script src=...>");
    const bundle = fs.readFileSync(plotlyBundlePath(), "utf8");
    assert.ok(html.length > bundle.length, "bundle inlined");
    assert.ok(html.includes(bundle.slice(0, 5000)) && html.includes(bundle.slice(-5000)), "plotly.min.js inlined verbatim");
    // Outside the inlined library (which holds URLs as data, e.g. map tile defaults), no URL at all.
    const start = html.indexOf(bundle.slice(0, 200));
    const end = html.indexOf(bundle.slice(-200)) + 200;
    const rest = html.slice(0, start) + html.slice(end);
    assert.doesNotMatch(rest, /https?:\/\//, "no http(s) reference outside the inlined library");
    assert.doesNotMatch(rest, /cdn/i);
    assert.ok(rest.includes('"ESCM2-IPW"'), "figure data embedded");

    await withTestPage(async (page, offsite) => {
      await page.goto("file://" + file);
      await page.waitForSelector(".main-svg");
      assert.equal(await page.locator(".trace.bars .point").count(), CATEGORIES.length);
      assert.deepEqual(offsite, [], "no request left the machine");
    });
  });

  test("svg parses, is plotly's main-svg and holds one bar path per category", async () => {
    const dir = path.join(tmp, "svg");
    const [file] = await saveFigure(BAR_FIG, "bars", { dir, formats: ["svg"], width: 640, height: 400 });
    const svg = fs.readFileSync(file, "utf8");
    assert.match(svg, /^<svg[^>]*class="main-svg"/);
    assert.match(svg, /width="640" height="400"/);
    for (const c of CATEGORIES) assert.ok(svg.includes(`>${c}<`), `tick label ${c}`);
    assert.ok(svg.includes("CVR AUC by model"), "title");
    await withTestPage(async (page) => {
      const r = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, "image/svg+xml");
        return {
          error: doc.getElementsByTagName("parsererror").length,
          rootClass: doc.documentElement.getAttribute("class"),
          bars: doc.querySelectorAll("g.trace.bars g.point path").length,
          errorBars: doc.querySelectorAll("g.errorbar").length,
          fill: (doc.querySelector("g.trace.bars g.point path") as SVGElement | null)?.getAttribute("style") ?? "",
        };
      }, svg);
      assert.equal(r.error, 0, "svg is well-formed XML");
      assert.equal(r.rootClass, "main-svg");
      assert.equal(r.bars, CATEGORIES.length, "one bar path per category");
      assert.equal(r.errorBars, CATEGORIES.length, "one error bar per category");
      assert.match(r.fill, /fill: rgb\(0, 114, 178\)/, "template colour");
    });
  });

  test("png has the signature, the requested pixel size and real content", async () => {
    const dir = path.join(tmp, "png");
    const [file] = await saveFigure(BAR_FIG, "bars", { dir, formats: ["png"], width: 500, height: 300, scale: 2 });
    const png = decodePng(fs.readFileSync(file));
    assert.equal(png.width, 1000);
    assert.equal(png.height, 600);
    const colors = distinctColors(png);
    assert.ok(colors.size > 10, `not blank: ${colors.size} distinct colours`);
    assert.ok(colors.has(hexToRgba(PALETTE[0])), "bars drawn in the template colour");
    // Top-left corner is the white paper background.
    assert.equal(png.rgba.readUInt32BE(0), 0xffffffff);
  });

  test("rejects bad input", async () => {
    await assert.rejects(saveFigure(BAR_FIG, "", { dir: tmp }), /name is required/);
    await assert.rejects(saveFigure({ layout: {} } as unknown as Figure, "x", { dir: tmp }), /data/);
    await assert.rejects(saveFigure(BAR_FIG, "x", { dir: tmp, formats: ["pdf" as "png"] }), /unknown format/);
  });
});

describe("showFigure", () => {
  test("one bundle with four MIME types; plotly.js inlined in the first only", async () => {
    resetPlotlyInlining();
    const first = await showFigure(BAR_FIG);
    const second = await showFigure(lineChart([{ name: "train", x: [1, 2, 3], y: [0.5, 0.4, 0.35] }], { title: "loss" }));
    assert.ok(first && second, "outside a kernel the bundle is returned");
    for (const b of [first, second]) {
      assert.deepEqual(Object.keys(b.data).sort(), [PLOTLY_MIME, "image/png", "text/html", "text/plain"].sort());
      assert.ok(Array.isArray(b.data[PLOTLY_MIME].data));
      assert.doesNotMatch(b.data["text/plain"], /\n/, "text/plain is one line");
      const png = decodePng(Buffer.from(b.data["image/png"]!, "base64"));
      assert.deepEqual([png.width, png.height], [800, 450]);
      assert.match(b.data["text/html"], /Plotly\.newPlot/);
      assert.doesNotMatch(b.data["text/html"], /<script[^>]*\ssrc\s*=/i);
    }
    assert.equal(first.data[PLOTLY_MIME].data.length, 1);
    assert.match(first.data["text/plain"], /CVR AUC by model/);
    const bundleHead = fs.readFileSync(plotlyBundlePath(), "utf8").slice(0, 2000);
    assert.ok(first.data["text/html"].includes(bundleHead), "first html carries plotly.js");
    assert.ok(first.data["text/html"].length > 4_000_000);
    assert.ok(!second.data["text/html"].includes(bundleHead), "second html does not");
    assert.ok(second.data["text/html"].length < 200_000);
    // bundle prints as one short line, not megabytes
    assert.match(require("node:util").inspect(first), /^FigureBundle \[.*\] Figure "CVR AUC by model"/);
  });

  test("in a notebook: the html renders with the bundle once, and later charts reuse it", async () => {
    resetPlotlyInlining();
    const a = (await showFigure(BAR_FIG))!;
    const b = (await showFigure(funnelChart([{ name: "impressions", value: 1000 }, { name: "clicks", value: 40 }])))!;
    const c = (await showFigure(BAR_FIG))!;
    const file = path.join(tmp, "notebook.html");
    fs.writeFileSync(file, `<!DOCTYPE html><html><body>${a.data["text/html"]}${b.data["text/html"]}</body></html>`);
    const lone = path.join(tmp, "lone.html");
    fs.writeFileSync(lone, `<!DOCTYPE html><html><body>${c.data["text/html"]}</body></html>`);
    await withTestPage(async (page, offsite) => {
      await page.goto("file://" + file);
      await page.waitForFunction(() => document.querySelectorAll(".esmm-figure .main-svg").length >= 2);
      assert.equal(await page.locator(".esmm-figure img.esmm-figure-static").count(), 0, "static images replaced");
      // Without the bundle (e.g. the first output was cleared): the static PNG stays, with a hint.
      await page.goto("file://" + lone);
      assert.equal(await page.locator("img.esmm-figure-static").count(), 1);
      assert.match(await page.locator(".esmm-figure").innerText(), /inlinePlotly: true/);
      assert.deepEqual(offsite, []);
    });
  });

  test("in a tslab kernel: sends ONE display_data with all MIME types and returns undefined", async () => {
    const fakeFile = path.join(tmp, "node_modules", "tslab", "dist", "jupyter.js");
    const sent: Array<{ content: FigureBundle; update: boolean }> = [];
    const fake = { exports: { lastWriteDisplayData: (content: FigureBundle, update: boolean) => sent.push({ content, update }) } };
    (require.cache as Record<string, unknown>)[fakeFile] = fake;
    try {
      resetPlotlyInlining();
      const r = await showFigure(BAR_FIG);
      assert.equal(r, undefined);
      assert.equal(sent.length, 1);
      assert.equal(sent[0].update, false);
      assert.deepEqual(Object.keys(sent[0].content.data).sort(), [PLOTLY_MIME, "image/png", "text/html", "text/plain"].sort());
      assert.deepEqual(sent[0].content.metadata, { "image/png": { width: 800, height: 450 } });
      assert.ok(JSON.parse(JSON.stringify(sent[0].content)).data[PLOTLY_MIME].data.length === 1, "JSON-serializable");
    } finally {
      delete (require.cache as Record<string, unknown>)[fakeFile];
    }
  });
});

describe("chart builders", () => {
  test("return template-styled Plotly figures", () => {
    assert.equal((BAR_FIG.data[0] as { type: string }).type, "bar");
    assert.deepEqual((BAR_FIG.data[0] as { error_y: { array: number[] } }).error_y.array, [0.01, 0.012, 0.008, 0.02, 0.011]);
    const layout = BAR_FIG.layout as Record<string, any>;
    assert.equal(layout.title.text, "CVR AUC by model");
    assert.equal(layout.yaxis.title.text, "AUC");
    assert.deepEqual(layout.colorway, [...PALETTE]);
    assert.match(layout.font.family, /DejaVu Sans/);

    const asym = barWithErrors(["a", "b"], [1, 2], { minus: [0.1, 0.2], plus: [0.3, 0.4] });
    assert.deepEqual((asym.data[0] as any).error_y, { type: "data", symmetric: false, array: [0.3, 0.4], arrayminus: [0.1, 0.2], visible: true, color: "#333", thickness: 1.5, width: 6 });

    const lines = lineChart(
      [{ name: "train", x: Float64Array.from([1, 2]), y: Float64Array.from([3, 4]) }, { name: "val", x: [1, 2], y: [5, 6] }],
      { title: "t", xTitle: "epoch", yTitle: "loss", logY: true },
    );
    assert.equal(lines.data.length, 2);
    assert.deepEqual((lines.data[0] as any).y, [3, 4], "typed arrays become plain arrays");
    assert.equal((lines.layout as any).yaxis.type, "log");
    assert.equal((lines.layout as any).yaxis.title.text, "loss");

    const funnel = funnelChart([{ name: "impressions", value: 100 }, { name: "clicks", value: 10 }, { name: "conversions", value: 1 }]);
    assert.deepEqual((funnel.data[0] as any).x, [100, 10, 1]);

    const rel = reliabilityDiagram([{ name: "ESMM", predicted: [0.01, 0.02], observed: [0.012, 0.018], count: [900, 100] }]);
    assert.equal(rel.data.length, 2, "diagonal + one curve");
    assert.deepEqual((rel.layout as any).xaxis.range, [0, 0.02 * 1.05]);
    assert.equal((rel.layout as any).xaxis.title.text, "mean predicted probability");

    assert.equal((withTemplate({ data: [], layout: { height: 300 } }).layout as any).height, 300);
  });

  test("reject mismatched lengths", () => {
    assert.throws(() => barWithErrors(["a", "b"], [1], [0.1, 0.2]), /values has 1 entries but there are 2/);
    assert.throws(() => lineChart([{ name: "s", x: [1, 2], y: [1] }]), /series "s": y has 1 entries/);
    assert.throws(() => reliabilityDiagram([{ name: "c", predicted: [0.1], observed: [0.1, 0.2] }]), /observed has 2/);
  });

  test("all builders render to svg", async () => {
    const figs = [
      lineChart([{ name: "a", x: [1, 2, 3], y: [1, 3, 2] }]),
      funnelChart([{ name: "impressions", value: 1e6 }, { name: "clicks", value: 4e4 }, { name: "conversions", value: 250 }]),
      reliabilityDiagram([{ name: "ESMM", predicted: [0.001, 0.01, 0.03], observed: [0.002, 0.009, 0.025] }]),
    ];
    const dir = path.join(tmp, "builders");
    for (const [i, fig] of figs.entries()) {
      const [file] = await saveFigure(fig, `fig-${i}`, { dir, formats: ["svg"] });
      assert.match(fs.readFileSync(file, "utf8"), /class="main-svg"/);
    }
  });
});

describe("createProgress", () => {
  function capture(isTTY = false) {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }) as Writable & { isTTY?: boolean; columns?: number };
    if (isTTY) {
      stream.isTTY = true;
      stream.columns = 160;
    }
    return { stream, text: () => chunks.join("") };
  }

  test("log mode (no TTY, no kernel): a line every 10% and a final line", () => {
    let now = 0;
    const out = capture();
    const p = createProgress({ total: 50, label: "scoring", unit: "rows", stream: out.stream, now: () => now });
    assert.equal(p.mode, "log");
    for (let i = 0; i < 50; i++) {
      now += 100;
      p.tick(1, { auc: 0.6123 });
    }
    p.done();
    p.tick(); // ignored after done
    const lines = out.text().trim().split("\n");
    assert.equal(lines.length, 11, lines.join("\n"));
    assert.equal(lines[0], "scoring 5/50 ▕██░░░░░░░░░░░░░░░░░░▏ 10% 10.0 rows/s ETA 0:05 auc=0.612");
    assert.match(lines[9], /^scoring 50\/50 ▕█{20}▏ 100% /);
    assert.equal(lines[10], "scoring 50/50 ▕████████████████████▏ 100% done in 0:05 10.0 rows/s auc=0.612");
    assert.equal(p.value, 50);
  });

  test("work that arrives in bursts reads at its true rate: a seed group's six runs every 30 s (0.2 runs/s), ten every 5 s (2 runs/s)", () => {
    const lines = (burst: number, every: number, bursts: number) => {
      let now = 0;
      const out = capture();
      const p = createProgress({ total: burst * bursts, label: "study", unit: "run", stream: out.stream, now: () => now, minIntervalMs: 0 });
      for (let b = 0; b < bursts; b++) {
        now += every;
        for (let i = 0; i < burst; i++) {
          now += 50; // the group's records are written one after the other
          p.tick(1);
        }
      }
      p.done();
      return out.text().trim().split("\n").slice(0, -1); // the final line is the mean since the start
    };
    // The old window (the ticks of the last 10 s) read the last burst's six ticks over 250 ms: "20.0 run/s".
    const slow = lines(6, 30_000, 6);
    assert.ok(slow.length >= 9, slow.join("\n"));
    for (const l of slow) assert.doesNotMatch(l, / run\/s /, l);
    const atEnd = / ([\d.]+) s\/run ETA 0:00/.exec(slow.find((l) => l.startsWith("study 36/36"))!);
    assert.ok(atEnd && Number(atEnd[1]) > 4.5 && Number(atEnd[1]) < 5.5, slow.join("\n")); // 6 runs per 30.3 s: 5.05 s/run
    // Ten every 5 s: once 20 s have passed, every line within 25 % of 2 runs/s (a 10 s window swung 1.45-3.61).
    const fast = lines(10, 5_000, 18);
    for (const l of fast) {
      const m = /study (\d+)\/180 .* ([\d.]+) (run\/s|s\/run) /.exec(l);
      assert.ok(m, l);
      const rate = m[3] === "run/s" ? Number(m[2]) : 1 / Number(m[2]);
      if (Number(m[1]) >= 40) assert.ok(rate > 1.5 && rate < 2.5, l);
    }
  });

  test("notebook mode: one display, updated in place, throttled", () => {
    const fakeFile = path.join(tmp, "kernel2", "node_modules", "tslab", "dist", "jupyter.js");
    const sent: Array<{ content: any; update: boolean }> = [];
    (require.cache as Record<string, unknown>)[fakeFile] = {
      exports: { lastWriteDisplayData: (content: unknown, update: boolean) => sent.push({ content, update }) },
    };
    try {
      let now = 0;
      const p = createProgress({ total: 10, label: "epoch", now: () => now });
      assert.equal(p.mode, "notebook");
      for (let i = 0; i < 10; i++) {
        now += i < 5 ? 50 : 1000; // the first ticks come faster than the 200 ms throttle
        p.tick(1, `${formatCount(12345)} rows/s`);
      }
      p.done();
      const ids = new Set(sent.map((m) => m.content.transient.display_id));
      assert.equal(ids.size, 1, "one display id");
      assert.equal(sent[0].update, false);
      assert.ok(sent.slice(1).every((m) => m.update), "then only update_display_data");
      assert.ok(sent.length < 13 && sent.length >= 7, `throttled: ${sent.length} messages`);
      const last = sent[sent.length - 1].content.data;
      assert.match(last["text/plain"], /^epoch 10\/10 ▕█{20}▏ 100% done in 0:05/);
      assert.match(last["text/html"], /class="esmm-progress"/);
      assert.match(sent[1].content.data["text/plain"], /12,345 rows\/s/);
    } finally {
      delete (require.cache as Record<string, unknown>)[fakeFile];
    }
  });

  test("terminal mode draws a cli-progress bar on the stream", () => {
    const out = capture(true);
    const p = createProgress({ total: 4, label: "epoch", stream: out.stream });
    assert.equal(p.mode, "terminal");
    for (let i = 0; i < 4; i++) p.tick(1, { loss: 0.5 });
    p.done();
    assert.match(out.text(), /epoch 4\/4 ▕█{20}▏ 100% done in 0:00/);
  });

  test("formatting", () => {
    assert.equal(formatDuration(31), "0:31");
    assert.equal(formatDuration(3723), "1:02:03");
    assert.equal(formatDuration(NaN), "--:--");
    assert.deepEqual([12345.6, 123.4, 12.34, 1.2, 0.1234, 0, 0.0001234].map(formatProgressNumber), ["12,346", "123", "12.3", "1.2", "0.123", "0", "1.23e-4"]);
    assert.deepEqual([progressCount(12000), progressCount(2.5)], ["12,000", "2.5"]);
    assert.deepEqual([formatRate(12000, "batches"), formatRate(12.34, "runs"), formatRate(0.4, "run"), formatRate(0, "batches")], ["12,000 batches/s", "12.3 runs/s", "2.5 s/run", "-- batches/s"]);
    const line = formatProgressLine({
      label: "epoch", unit: "epoch", value: 4, total: 10, fraction: 0.4, rate: 0.25, etaSeconds: 24,
      elapsedSeconds: 8, info: "12,345 rows/s", finished: false,
    });
    assert.equal(line, "epoch 4/10 ▕████████░░░░░░░░░░░░▏ 40% 4 s/epoch ETA 0:24 12,345 rows/s");
    assert.throws(() => createProgress({ total: -1 }), /total/);
  });
});

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
