/**
 * A synthetic file in the processed Ali-CCP layout (lib/data/ali-ccp.ts, test/fixtures/ali-ccp/), at any size,
 * for the scale benchmark (bench/prepare-scale.ts) and the streaming tests. No real data is involved.
 *
 * Layout: the header `click,purchase,<categorical fields>,D<numeric fields>` with the fields of
 * `ALI_CCP_DEFAULT_FIELDS` (33 columns, as the repository's sample), then one line per row, "\n"-terminated.
 * Values, drawn from one seeded stream (the same rows, seed and file give the same bytes):
 * - click ~ Bernoulli(0.04), purchase ~ Bernoulli(0.0053) among clicks only (the ESMM paper's public data set:
 *   84M impressions, 3.4M clicks, 18k conversions);
 * - categorical field f: an integer id in [0, V_f), skewed towards small ids (V_f * u^3), V_f of the order of the
 *   processed release's vocabulary sizes (user ~240k, item ~470k, ...: rounded guesses, not measured from it);
 * - numeric field: 0.0 with probability 0.3, else a 4-decimal value in (0, 1), written as the sample writes them.
 * About 142 bytes a line (5.3 GiB at 40M rows).
 *
 * The file is written through a 4 MiB buffer, so memory stays flat whatever `rows` is.
 *
 * The same rows in memory, as an encoded split (`syntheticAliCcpSplit`: what `esmm bench --shape ali-ccp` trains on,
 * no file and no prepare step), at the vocabulary sizes above or scaled to another total number of ids
 * (`syntheticAliCcpVocabularies`).
 */
import * as fs from "node:fs";
import { ALI_CCP_DEFAULT_FIELDS } from "./ali-ccp-raw";
import type { EncodedSplit } from "./encoded";
import { Rng, deriveSeed } from "./random";

/** Click rate and conversion rate among clicks of the synthetic rows. */
export const SYNTHETIC_CLICK_RATE = 0.04;
export const SYNTHETIC_CONVERSION_GIVEN_CLICK = 0.0053;

/** Vocabulary size per categorical field (ids 0 .. size - 1), in `ALI_CCP_DEFAULT_FIELDS.categorical` order. */
const VOCABULARY_SIZES: Record<string, number> = {
  "101": 240_000, "121": 100, "122": 14, "124": 3, "125": 8, "126": 4, "127": 4, "128": 3, "129": 5,
  "205": 470_000, "206": 7_000, "207": 260_000, "210": 80_000, "216": 100_000, "508": 6_000, "509": 100_000,
  "702": 50_000, "853": 40_000, "301": 4, "109_14": 6_000, "110_14": 300_000, "127_14": 300_000, "150_14": 50_000,
};

/** Total ids of the vocabularies above (2,009,145: the "2M ids" of the benchmarks). */
export const SYNTHETIC_ALI_CCP_IDS = Object.values(VOCABULARY_SIZES).reduce((a, b) => a + b, 0);

/** A field never shrinks below this many ids when the vocabularies are scaled down (or its own size, if smaller). */
const MIN_FIELD_IDS = 20;

/**
 * Vocabulary size per categorical field (`ALI_CCP_DEFAULT_FIELDS.categorical` order) with `totalIds` ids in all:
 * each field keeps min(its size, 20) ids and gets a share of the rest in proportion to its ids beyond those
 * (rounded down), the rounding's remainder (< 23 ids) given to the largest field (item id 205), so the sizes sum
 * to `totalIds` exactly and scale by about totalIds / SYNTHETIC_ALI_CCP_IDS (exactly the sizes above at that total).
 * Without `totalIds`, the sizes above (SYNTHETIC_ALI_CCP_IDS in all). Throws when `totalIds` is not an integer
 * or is below what the smallest fields need (345 ids).
 */
export function syntheticAliCcpVocabularies(totalIds?: number): number[] {
  const base = ALI_CCP_DEFAULT_FIELDS.categorical.map((f) => VOCABULARY_SIZES[f]);
  if (totalIds === undefined) return base;
  const floors = base.map((v) => Math.min(v, MIN_FIELD_IDS));
  const least = floors.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(totalIds) || totalIds < least) throw new Error(`synthetic Ali-CCP vocabularies: the total must be an integer >= ${least} ids, got ${totalIds}`);
  const sizes = base.map((v, f) => floors[f] + Math.floor(((v - floors[f]) * (totalIds - least)) / (SYNTHETIC_ALI_CCP_IDS - least)));
  sizes[base.indexOf(Math.max(...base))] += totalIds - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/** One row's draws, in the file's order: its labels, one id per categorical field, one numeric code per numeric field. */
interface RowDraw {
  click: 0 | 1;
  purchase: 0 | 1;
  /** ids[f] in [0, sizes[f]). */
  ids: Int32Array;
  /** 0: the value 0.0; k in 1..10^4: the value k / 10^4. */
  numericCodes: Int32Array;
}

/**
 * Draws the next row from `rng` into `row` (the one definition of a synthetic row, for the file and the split):
 * click ~ Bernoulli(SYNTHETIC_CLICK_RATE); purchase ~ Bernoulli(SYNTHETIC_CONVERSION_GIVEN_CLICK) drawn for
 * clicks only; id floor(V_f u^3) per field; per numeric field 0 with probability 0.3, else round((u - 0.3) / 0.7 x 10^4)
 * (at least 1).
 */
function drawRow(rng: Rng, sizes: readonly number[], row: RowDraw): void {
  row.click = rng.uniform() < SYNTHETIC_CLICK_RATE ? 1 : 0;
  row.purchase = row.click === 1 && rng.uniform() < SYNTHETIC_CONVERSION_GIVEN_CLICK ? 1 : 0;
  for (let f = 0; f < sizes.length; f++) {
    const u = rng.uniform();
    row.ids[f] = Math.floor(sizes[f] * u * u * u);
  }
  for (let f = 0; f < row.numericCodes.length; f++) {
    const u = rng.uniform();
    row.numericCodes[f] = u < 0.3 ? 0 : Math.max(1, Math.round(((u - 0.3) / 0.7) * 1e4));
  }
}

function newRow(): RowDraw {
  return { click: 0, purchase: 0, ids: new Int32Array(ALI_CCP_DEFAULT_FIELDS.categorical.length), numericCodes: new Int32Array(ALI_CCP_DEFAULT_FIELDS.numeric.length) };
}

/**
 * `rows` synthetic rows as an encoded split named `name` (the rows of writeSyntheticAliCcp's file for the same
 * seed and vocabularies, without a file): categorical ids as drawn (no OOV index: every id is in its field's
 * vocabulary), numeric values k / 10^4 (float32), weight 1, day 0. `vocabularySizes`: per categorical field
 * (default syntheticAliCcpVocabularies()). Throws on a bad `rows` or a vocabulary list of the wrong length.
 */
export function syntheticAliCcpSplit(name: string, rows: number, seed: number, vocabularySizes: readonly number[] = syntheticAliCcpVocabularies()): EncodedSplit {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`syntheticAliCcpSplit: rows must be a non-negative integer, got ${rows}`);
  const fields = ALI_CCP_DEFAULT_FIELDS.categorical;
  if (vocabularySizes.length !== fields.length) throw new Error(`syntheticAliCcpSplit: ${vocabularySizes.length} vocabulary sizes for ${fields.length} categorical fields`);
  const F = fields.length;
  const N = ALI_CCP_DEFAULT_FIELDS.numeric.length;
  const rng = new Rng(deriveSeed(seed, "synthetic-ali-ccp"));
  const categorical = new Int32Array(rows * F);
  const numeric = new Float32Array(rows * N);
  const click = new Float32Array(rows);
  const conversion = new Float32Array(rows);
  const row = newRow();
  for (let r = 0; r < rows; r++) {
    drawRow(rng, vocabularySizes, row);
    click[r] = row.click;
    conversion[r] = row.purchase;
    categorical.set(row.ids, r * F);
    for (let f = 0; f < N; f++) numeric[r * N + f] = row.numericCodes[f] / 1e4;
  }
  return {
    name,
    size: rows,
    categoricalFields: [...fields],
    vocabularySizes: [...vocabularySizes],
    numericFields: ALI_CCP_DEFAULT_FIELDS.numeric.map((n) => `D${n}`),
    categorical,
    numeric,
    click,
    conversion,
    weight: new Float32Array(rows).fill(1),
    day: new Int32Array(rows),
  };
}

/** The header's column names: click, purchase, the categorical fields, `D` + the numeric fields. */
export function syntheticAliCcpColumns(): string[] {
  const f = ALI_CCP_DEFAULT_FIELDS;
  return ["click", "purchase", ...f.categorical, ...f.numeric.map((n) => `D${n}`)];
}

/** The categorical column names (every column but the labels and the `D*` ones), as `esmm prepare --categorical` takes them. */
export function syntheticAliCcpCategorical(): string[] {
  return [...ALI_CCP_DEFAULT_FIELDS.categorical];
}

export interface SyntheticAliCcpOptions {
  /** Called every `progressEvery` rows (default 1,000,000) with the rows written so far. */
  onProgress?: (rowsWritten: number) => void;
  progressEvery?: number;
}

/**
 * Writes `rows` data rows (plus the header) to `file`, replacing it. Returns the file's size in bytes.
 * Throws on a negative or non-integer `rows`, and on any write error (the file is then left incomplete:
 * callers write under a temporary name).
 */
export function writeSyntheticAliCcp(file: string, rows: number, seed: number, options: SyntheticAliCcpOptions = {}): number {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`writeSyntheticAliCcp: rows must be a non-negative integer, got ${rows}`);
  const rng = new Rng(deriveSeed(seed, "synthetic-ali-ccp"));
  const sizes = syntheticAliCcpVocabularies();
  const every = options.progressEvery ?? 1_000_000;
  const row = newRow();
  const out = new ByteWriter(file);
  try {
    out.text(syntheticAliCcpColumns().join(",") + "\n");
    for (let r = 0; r < rows; r++) {
      drawRow(rng, sizes, row);
      out.text(row.click === 1 ? (row.purchase === 1 ? "1,1" : "1,0") : "0,0");
      for (let f = 0; f < sizes.length; f++) {
        out.byte(COMMA);
        out.integer(row.ids[f]);
      }
      for (let f = 0; f < row.numericCodes.length; f++) {
        out.byte(COMMA);
        if (row.numericCodes[f] === 0) out.text("0.0");
        else out.tenThousandths(row.numericCodes[f]);
      }
      out.byte(NEWLINE);
      if ((r + 1) % every === 0) options.onProgress?.(r + 1);
    }
  } finally {
    out.close();
  }
  return out.bytes;
}

const COMMA = 44;
const NEWLINE = 10;
const ZERO = 48;

/** ASCII output through a 4 MiB buffer: numbers are written digit by digit (no string per value). */
class ByteWriter {
  bytes = 0;
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(1 << 22);
  private at = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, "w");
  }

  byte(b: number): void {
    if (this.at === this.buffer.length) this.flush();
    this.buffer[this.at++] = b;
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  /** A non-negative integer in decimal. */
  integer(n: number): void {
    if (n >= 10) this.integer(Math.floor(n / 10));
    this.byte(ZERO + (n % 10));
  }

  /** k / 10^4 for k in 1 .. 10^4 as the shortest decimal: 0.5, 0.0319, 1. */
  tenThousandths(k: number): void {
    if (k === 10_000) return this.byte(ZERO + 1);
    this.byte(ZERO);
    this.byte(46);
    let digits = 4;
    while (k % 10 === 0) {
      k /= 10;
      digits--;
    }
    for (let d = digits - 1; d >= 0; d--) this.byte(ZERO + (Math.floor(k / 10 ** d) % 10));
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    let done = 0;
    while (done < this.at) done += fs.writeSync(this.fd, this.buffer, done, this.at - done);
    this.bytes += this.at;
    this.at = 0;
  }
}
