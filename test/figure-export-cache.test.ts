/**
 * Tests of the static figure export cache (lib/plots/export-cache.ts) through saveFigure: the renderer is a
 * counting fake, so what is asserted is whether a render happened, not how long anything took. An unchanged
 * figure is written once; a changed figure, size or file, or the force switch (option or environment variable),
 * renders again; the key is the sha256 of the documented canonical JSON; a failing render leaves the files as
 * they were. The one test that needs Chromium (a cached export does not start the browser) is skipped when
 * Chromium cannot be found.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  barWithErrors,
  closeFigureExporter,
  configureFigureExporter,
  figureExporterRunning,
  findChromium,
  plotlyBundlePath,
  saveFigure,
  showFigure,
} from "../lib/plots";
import type { Figure } from "../lib/plots";
import { EXPORT_RECORD_FILE, FORCE_EXPORT_ENV, FigureRenderer, figureExportKey } from "../lib/plots/export-cache";

const sha256 = (b: string | Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A renderer that records its calls and returns an output naming the call number, format and size. */
function countingRenderer(): { render: FigureRenderer; calls: string[] } {
  const calls: string[] = [];
  const render: FigureRenderer = async (fig, format, size) => {
    calls.push(format);
    const text = `render ${calls.length}: ${format} ${size.width}x${size.height}@${size.scale} ${JSON.stringify(fig.data)}`;
    return format === "svg" ? `<svg>${text}</svg>` : Buffer.concat([PNG_SIGNATURE, Buffer.from(text)]);
  };
  return { render, calls };
}

const bars = (y: number[]): Figure => barWithErrors(["IP", "ESMM"], y, [0.1, 0.2], { title: "t" });

function record(dir: string): Record<string, { key: string; sha256: string; bytes: number }> {
  return JSON.parse(fs.readFileSync(path.join(dir, EXPORT_RECORD_FILE), "utf8")).files;
}

let tmp: string;
let n = 0;
const freshDir = () => path.join(tmp, `d${n++}`);
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "esmm-export-cache-test-"));
});
after(async () => {
  await closeFigureExporter();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("saveFigure with the export cache", () => {
  test("an export writes once; a second identical export does not call the renderer", async () => {
    const dir = freshDir();
    const { render, calls } = countingRenderer();
    const files = await saveFigure(bars([1, 2]), "f", { dir, render });
    assert.deepEqual(calls, ["svg", "png"]);
    assert.deepEqual(files, ["html", "svg", "png"].map((e) => path.join(dir, `f.${e}`)));
    const svg = fs.readFileSync(path.join(dir, "f.svg"), "utf8");
    assert.match(svg, /^<svg>render 1: svg 800x450@1 /);
    const png = fs.readFileSync(path.join(dir, "f.png"));
    assert.match(png.subarray(8).toString(), /^render 2: png 800x450@1 /);
    const rec = record(dir);
    assert.deepEqual(Object.keys(rec), ["f.png", "f.svg"]);
    assert.equal(rec["f.svg"].sha256, sha256(svg));
    assert.equal(rec["f.png"].sha256, sha256(png));
    assert.equal(rec["f.png"].bytes, png.length);

    // A figure built again from the same numbers, with its layout keys in another order: same key, no render.
    const again = bars([1, 2]);
    again.layout = Object.fromEntries(Object.entries(again.layout!).reverse());
    assert.deepEqual(await saveFigure(again, "f", { dir, render }), files);
    assert.deepEqual(calls, ["svg", "png"], "nothing rendered the second time");
    assert.equal(fs.readFileSync(path.join(dir, "f.svg"), "utf8"), svg);
    assert.deepEqual(fs.readFileSync(path.join(dir, "f.png")), png);
    assert.ok(fs.existsSync(path.join(dir, "f.html")), "html is written every time (no browser needed)");
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(".tmp-")), [], "no temporary file left");
  });

  test("a changed figure or size renders again; another figure in the folder stays cached", async () => {
    const dir = freshDir();
    const { render, calls } = countingRenderer();
    await saveFigure(bars([1, 2]), "a", { dir, render, formats: ["svg"] });
    await saveFigure(bars([3, 4]), "b", { dir, render, formats: ["svg"] });
    assert.equal(calls.length, 2);
    await saveFigure(bars([1, 2.5]), "a", { dir, render, formats: ["svg"] });
    assert.equal(calls.length, 3, "changed data");
    assert.match(fs.readFileSync(path.join(dir, "a.svg"), "utf8"), /^<svg>render 3: .*2\.5/);
    await saveFigure(bars([1, 2.5]), "a", { dir, render, formats: ["svg"], width: 640 });
    assert.equal(calls.length, 4, "changed size");
    await saveFigure(withTitle(bars([1, 2.5]), "u"), "a", { dir, render, formats: ["svg"], width: 640 });
    assert.equal(calls.length, 5, "changed layout");
    await saveFigure(bars([3, 4]), "b", { dir, render, formats: ["svg"] });
    assert.equal(calls.length, 5, "b unchanged");
    // svg cached, png never written: only the png renders
    await saveFigure(bars([3, 4]), "b", { dir, render, formats: ["svg", "png"] });
    assert.deepEqual(calls.slice(5), ["png"]);
  });

  test("an edited or deleted output file renders again", async () => {
    const dir = freshDir();
    const { render, calls } = countingRenderer();
    const fig = bars([1, 2]);
    await saveFigure(fig, "f", { dir, render, formats: ["svg", "png"] });
    const svgFile = path.join(dir, "f.svg");
    fs.writeFileSync(svgFile, fs.readFileSync(svgFile, "utf8").replace("render 1", "render 9"));
    await saveFigure(fig, "f", { dir, render, formats: ["svg", "png"] });
    assert.deepEqual(calls, ["svg", "png", "svg"], "the edited svg only");
    assert.match(fs.readFileSync(svgFile, "utf8"), /^<svg>render 3: /);
    fs.rmSync(path.join(dir, "f.png"));
    await saveFigure(fig, "f", { dir, render, formats: ["svg", "png"] });
    assert.deepEqual(calls, ["svg", "png", "svg", "png"], "the deleted png only");
    fs.writeFileSync(path.join(dir, EXPORT_RECORD_FILE), "{ not json");
    await saveFigure(fig, "f", { dir, render, formats: ["svg"] });
    assert.equal(calls.length, 5, "an unreadable record means nothing is known: render");
    assert.deepEqual(Object.keys(record(dir)), ["f.svg"], "and the record is written anew");
  });

  test("force: the option and ESMM_FORCE_FIGURE_EXPORT render again; 0 does not; another value is refused", async () => {
    const dir = freshDir();
    const { render, calls } = countingRenderer();
    const fig = bars([1, 2]);
    const opts = { dir, render, formats: ["svg" as const] };
    await saveFigure(fig, "f", opts);
    await saveFigure(fig, "f", { ...opts, force: true });
    assert.equal(calls.length, 2, "force: true");
    const saved = process.env[FORCE_EXPORT_ENV];
    try {
      process.env[FORCE_EXPORT_ENV] = "1";
      await saveFigure(fig, "f", opts);
      assert.equal(calls.length, 3, "ESMM_FORCE_FIGURE_EXPORT=1");
      await saveFigure(fig, "f", { ...opts, force: false });
      assert.equal(calls.length, 3, "the option wins over the environment");
      process.env[FORCE_EXPORT_ENV] = "0";
      await saveFigure(fig, "f", opts);
      assert.equal(calls.length, 3, "ESMM_FORCE_FIGURE_EXPORT=0");
      process.env[FORCE_EXPORT_ENV] = "yes please";
      const before = fs.readFileSync(path.join(dir, "f.svg"));
      await assert.rejects(saveFigure(bars([5, 6]), "f", opts), /^TypeError: ESMM_FORCE_FIGURE_EXPORT must be 1 or 0, got "yes please"$/);
      assert.equal(calls.length, 3);
      assert.deepEqual(fs.readFileSync(path.join(dir, "f.svg")), before, "nothing written");
    } finally {
      if (saved === undefined) delete process.env[FORCE_EXPORT_ENV];
      else process.env[FORCE_EXPORT_ENV] = saved;
    }
    assert.match(fs.readFileSync(path.join(dir, "f.svg"), "utf8"), /^<svg>render 3: /);
  });

  test("a render that fails leaves the file and its record as they were", async () => {
    const dir = freshDir();
    const { render } = countingRenderer();
    await saveFigure(bars([1, 2]), "f", { dir, render, formats: ["svg"] });
    const before = [fs.readFileSync(path.join(dir, "f.svg")), fs.readFileSync(path.join(dir, EXPORT_RECORD_FILE))];
    const failing: FigureRenderer = async () => {
      throw new Error("renderer broke");
    };
    await assert.rejects(saveFigure(bars([7, 8]), "f", { dir, render: failing, formats: ["svg"] }), /renderer broke/);
    assert.deepEqual([fs.readFileSync(path.join(dir, "f.svg")), fs.readFileSync(path.join(dir, EXPORT_RECORD_FILE))], before);
    // and the old file still counts as the export of the old figure
    const again = countingRenderer();
    await saveFigure(bars([1, 2]), "f", { dir, render: again.render, formats: ["svg"] });
    assert.equal(again.calls.length, 0);
  });

  test("the key is sha256 of the canonical JSON of renderer version, plotly.js bundle hash, format, size and figure", () => {
    const fig: Figure = { data: [{ type: "bar", y: Float64Array.from([1, NaN]) }], layout: { title: { text: "x" }, height: 300 } };
    const bundle = sha256(fs.readFileSync(plotlyBundlePath()));
    const expected = sha256(
      `{"figure":{"config":null,"data":[{"type":"bar","y":[1,null]}],"layout":{"height":300,"title":{"text":"x"}}},` +
        `"format":"png","plotly":"${bundle}","renderer":1,"size":{"height":300,"scale":2,"width":500}}`,
    );
    assert.equal(figureExportKey(fig, "png", { width: 500, height: 300, scale: 2 }), expected);
    assert.notEqual(figureExportKey(fig, "svg", { width: 500, height: 300, scale: 2 }), expected);
  });

  test("cached exports need no Chromium: saveFigure succeeds with none installed, and showFigure takes the saved PNG", async () => {
    const dir = freshDir();
    const { render, calls } = countingRenderer();
    const fig = bars([1, 2]);
    await saveFigure(fig, "f", { dir, render });
    await closeFigureExporter();
    configureFigureExporter({ executablePath: path.join(tmp, "no-such-chromium") });
    try {
      // the default renderer would throw ChromiumMissingError: it is never called
      await saveFigure(fig, "f", { dir });
      await assert.rejects(saveFigure(bars([9, 9]), "f", { dir }), /needs Chromium/);
      const png = fs.readFileSync(path.join(dir, "f.png"));
      const bundle = await showFigure(fig, { pngBytes: png });
      assert.equal(bundle!.data["image/png"], png.toString("base64"));
      assert.match(bundle!.data["text/html"], new RegExp(`src="data:image/png;base64,${png.toString("base64").slice(0, 40).replace(/[+/]/g, "\\$&")}`));
      assert.equal(figureExporterRunning(), false);
      await assert.rejects(showFigure(fig, { pngBytes: Buffer.from("not a png") }), /pngBytes must be the bytes of a PNG file/);
    } finally {
      configureFigureExporter({ executablePath: undefined });
    }
    assert.equal(calls.length, 2);
  });
});

function withTitle(fig: Figure, text: string): Figure {
  return { ...fig, layout: { ...fig.layout, title: { text } } };
}

function chromiumMissing(): string | false {
  try {
    findChromium();
    return false;
  } catch (e) {
    return (e as Error).message;
  }
}

describe("with Chromium", { skip: chromiumMissing() }, () => {
  test("the first export starts the browser; a cached one does not start it again and leaves the files as they were", async () => {
    const dir = freshDir();
    const fig = bars([1, 2]);
    await closeFigureExporter();
    const files = await saveFigure(fig, "f", { dir, formats: ["svg", "png"] });
    assert.equal(figureExporterRunning(), true, "rendered in the browser");
    const written = files.map((f) => fs.readFileSync(f));
    assert.match(written[0].toString("utf8"), /^<svg[^>]*class="main-svg"/);
    assert.ok(written[1].subarray(0, 8).equals(PNG_SIGNATURE));
    await closeFigureExporter();
    await saveFigure(fig, "f", { dir, formats: ["svg", "png"] });
    assert.equal(figureExporterRunning(), false, "no browser started for cached figures");
    assert.deepEqual(files.map((f) => fs.readFileSync(f)), written);
  });
});
