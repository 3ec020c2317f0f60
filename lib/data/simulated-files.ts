/**
 * The simulator's files: one CSV per day (`day-00.csv`, ...) and a `manifest.json` beside them.
 *
 * The manifest records the config, seed, intercepts, counts and rates per day and per placement, and the
 * oracle (Bayes) cross-entropies computed from the true probabilities in full precision: the floor no
 * model can beat (with hidden selection, the truth given the unobserved u: a floor below what any model of the
 * features reaches, docs/hidden-selection.md). It holds no timestamps, so the same seed and config give byte-identical files.
 *
 * `readSimulatedLog` keeps a binary cache of the parsed day files beside them, `log.bin` (lib/data/log-cache.ts),
 * and reads it instead of the CSV files while it matches them (same manifest bytes, same day file sizes and
 * modification times, intact): the CSV files stay what users read and edit.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "./errors";
import { splitLines } from "./line-reader";
import { LOG_CACHE_FILE, currentCacheKey, readLogCache, writeLogCache } from "./log-cache";
import { ImpressionLog, allocateLog, concatLogs } from "./schema";
import { SIMULATED_SCHEMA, SimulatedChunk, createWorld, generateDay, rowsPerDay } from "./simulator";
import { SimulatorConfig, resolveConfig } from "./simulator-config";
import { makeDirs } from "./output-paths";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT = "esmm-lab/simulated-impression-log@1";

/** CSV columns, in order: day, the categorical fields, the numeric fields, labels, true probabilities. */
export const SIMULATED_COLUMNS = [
  "day",
  ...SIMULATED_SCHEMA.categorical,
  ...SIMULATED_SCHEMA.numeric,
  "click",
  "conversion",
  "p_click",
  "p_conversion_given_click",
] as const;

export interface Counts {
  impressions: number;
  clicks: number;
  conversions: number;
  /** clicks / impressions */
  ctr: number;
  /** conversions / clicks */
  cvr: number;
  /** conversions / impressions */
  ctcvr: number;
}

export interface OracleLoss {
  /** Mean cross-entropy of the true P(click) on all impressions. */
  ctr: number;
  /** Mean cross-entropy of the true P(conversion | click) on clicked impressions. */
  cvr: number;
  /** Mean cross-entropy of the true P(click, conversion) on all impressions: the paper's main score. */
  ctcvr: number;
}

export interface DayEntry extends Counts {
  day: number;
  file: string;
  oracle: OracleLoss;
}

export interface PlacementEntry extends Counts {
  name: string;
  /** Mean true P(conversion | click) over clicked impressions: what a click-trained CVR model sees. */
  meanTrueCvrOnClicks: number;
  /** Mean true P(conversion | click) over all impressions: what a CVR model is served on. */
  meanTrueCvrOnImpressions: number;
}

export interface SimulationManifest {
  format: string;
  seed: number;
  config: SimulatorConfig;
  schema: typeof SIMULATED_SCHEMA;
  columns: readonly string[];
  names: { placement: string[]; device_os: string[] };
  intercepts: { click: number; conversion: number };
  totals: Counts;
  oracle: OracleLoss;
  days: DayEntry[];
  placements: PlacementEntry[];
}

class Tally {
  impressions = 0;
  clicks = 0;
  conversions = 0;
  ctrLoss = 0;
  cvrLoss = 0;
  ctcvrLoss = 0;
  trueCvrOnClicks = 0;
  trueCvrOnImpressions = 0;

  add(click: number, conversion: number, pClick: number, pConv: number): void {
    this.impressions++;
    this.clicks += click;
    this.conversions += conversion;
    const pJoint = pClick * pConv;
    this.ctrLoss -= click ? Math.log(pClick) : Math.log1p(-pClick);
    this.ctcvrLoss -= conversion ? Math.log(pJoint) : Math.log1p(-pJoint);
    if (click) {
      this.cvrLoss -= conversion ? Math.log(pConv) : Math.log1p(-pConv);
      this.trueCvrOnClicks += pConv;
    }
    this.trueCvrOnImpressions += pConv;
  }

  counts(): Counts {
    return {
      impressions: this.impressions,
      clicks: this.clicks,
      conversions: this.conversions,
      ctr: this.clicks / this.impressions,
      cvr: this.conversions / this.clicks,
      ctcvr: this.conversions / this.impressions,
    };
  }

  oracle(): OracleLoss {
    return { ctr: this.ctrLoss / this.impressions, cvr: this.cvrLoss / this.clicks, ctcvr: this.ctcvrLoss / this.impressions };
  }

  merge(o: Tally): void {
    for (const k of Object.keys(this) as (keyof Tally)[]) {
      if (typeof this[k] === "number") (this as unknown as Record<string, number>)[k] += o[k] as number;
    }
  }
}

export function dayFileName(day: number): string {
  return `day-${String(day).padStart(2, "0")}.csv`;
}

/** Probabilities are written with 9 significant digits; exact values enter the manifest's oracle losses. */
function formatChunk(c: SimulatedChunk, activityText: Map<number, string>): string {
  let text = "";
  for (let i = 0; i < c.size; i++) {
    text +=
      `${c.day},${c.user[i]},${c.ad[i]},${c.advertiser[i]},${c.appCategory[i]},${c.placement[i]},${c.deviceOs[i]},${c.hour[i]},` +
      `${activityText.get(c.userActivity[i]) ?? c.userActivity[i].toFixed(4)},${c.adAgeDays[i]},${c.click[i]},${c.conversion[i]},` +
      `${c.pClick[i].toPrecision(9)},${c.pConversionGivenClick[i].toPrecision(9)}\n`;
  }
  return text;
}

export interface SimulateOptions {
  /** Called once before anything is simulated, with the number of days to come (not when ensureSimulatedLog reuses a log). */
  onStart?: (days: number) => void;
  /** Called after each day is written: its index, the number of days, the rows written so far. */
  onDay?: (day: number, days: number, rowsSoFar: number) => void;
}

/** Generates the log into `outDir` (created if needed) and returns the manifest it wrote. */
export function writeSimulatedLog(config: Partial<SimulatorConfig>, seed: number, outDir: string, options: SimulateOptions = {}): SimulationManifest {
  options.onStart?.(resolveConfig(config).days);
  const world = createWorld(config, seed);
  const c = world.config;
  makeDirs(outDir);
  const total = new Tally();
  const placementTallies = c.placements.map(() => new Tally());
  const days: DayEntry[] = [];
  const activityText = new Map(Array.from(world.userActivity, (a) => [a, a.toFixed(4)]));
  let rowsSoFar = 0;
  for (let day = 0; day < c.days; day++) {
    const file = dayFileName(day);
    const fd = fs.openSync(path.join(outDir, file), "w");
    fs.writeSync(fd, SIMULATED_COLUMNS.join(",") + "\n");
    const dayPlacementTallies = c.placements.map(() => new Tally());
    for (const chunk of generateDay(world, day, 8192)) {
      for (let i = 0; i < chunk.size; i++) {
        dayPlacementTallies[chunk.placement[i]].add(chunk.click[i], chunk.conversion[i], chunk.pClick[i], chunk.pConversionGivenClick[i]);
      }
      fs.writeSync(fd, formatChunk(chunk, activityText));
      rowsSoFar += chunk.size;
    }
    fs.closeSync(fd);
    const tally = new Tally();
    dayPlacementTallies.forEach((t, p) => {
      tally.merge(t);
      placementTallies[p].merge(t);
    });
    total.merge(tally);
    days.push({ day, file, ...tally.counts(), oracle: tally.oracle() });
    options.onDay?.(day, c.days, rowsSoFar);
  }
  const manifest: SimulationManifest = {
    format: MANIFEST_FORMAT,
    seed,
    config: c,
    schema: SIMULATED_SCHEMA,
    columns: SIMULATED_COLUMNS,
    names: { placement: c.placements.map((p) => p.name), device_os: c.deviceOs.map((o) => o.name) },
    intercepts: { click: world.clickIntercept, conversion: world.conversionIntercept },
    totals: total.counts(),
    oracle: total.oracle(),
    days,
    placements: placementTallies.map((t, i) => ({
      name: c.placements[i].name,
      ...t.counts(),
      meanTrueCvrOnClicks: t.trueCvrOnClicks / t.clicks,
      meanTrueCvrOnImpressions: t.trueCvrOnImpressions / t.impressions,
    })),
  };
  fs.writeFileSync(path.join(outDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** The manifest of the log in `dir` and the sha256 (hex) of its bytes; throws a DataError as `readManifest`. */
function readManifestWithHash(dir: string): { manifest: SimulationManifest; sha256: string } {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) throw new DataError({ file }, "no manifest.json: not a simulated log folder (run `esmm simulate --out DIR` first)");
  const bytes = fs.readFileSync(file);
  let manifest: SimulationManifest;
  try {
    manifest = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new DataError({ file }, `not valid JSON (${(e as Error).message})`);
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new DataError({ file }, `format is ${JSON.stringify(manifest.format)}, expected ${MANIFEST_FORMAT}`);
  if (!Array.isArray(manifest.days) || manifest.days.length === 0) throw new DataError({ file }, "lists no days");
  manifest.days.forEach((d, i) => {
    if (d?.day !== i) {
      const listed = manifest.days.map((e) => e?.day).join(", ");
      throw new DataError({ file }, `${i === 0 || manifest.days[i - 1]?.day === i - 1 ? `no day ${i}` : `days out of order`}: the days must be 0, 1, 2, ... without a gap (listed: ${listed})`);
    }
  });
  return { manifest, sha256: crypto.createHash("sha256").update(bytes).digest("hex") };
}

/** The manifest of the log in `dir`. Throws a DataError when it is missing, not JSON, of another format, or its days are not 0, 1, 2, ... */
export function readManifest(dir: string): SimulationManifest {
  return readManifestWithHash(dir).manifest;
}

/**
 * Reads one day file, checking every value (and, given `expectedDay`, that every row is of that day); errors
 * name the file, line and column. A byte-order mark and CRLF line ends are read (lib/data/line-reader.ts).
 */
export function readSimulatedDay(file: string, expectedRows?: number, expectedDay?: number): ImpressionLog {
  const lines = splitLines(fs.readFileSync(file, "utf8"));
  if (lines.length === 0) throw new DataError({ file }, "file is empty (expected a header line and rows)");
  const header = lines[0].split(",");
  for (const col of SIMULATED_COLUMNS) {
    if (!header.includes(col)) throw new DataError({ file, line: 1, column: col }, `missing column (header has: ${header.join(", ")})`);
  }
  if (header.length !== SIMULATED_COLUMNS.length || header.some((h, i) => h !== SIMULATED_COLUMNS[i])) {
    throw new DataError({ file, line: 1 }, `columns must be, in order: ${SIMULATED_COLUMNS.join(",")}`);
  }
  const n = lines.length - 1;
  if (expectedRows !== undefined && n !== expectedRows) {
    throw new DataError({ file }, `has ${n} rows, the manifest says ${expectedRows} (truncated or edited file?)`);
  }
  const log = allocateLog(SIMULATED_SCHEMA, n, path.basename(file), true);
  const nCat = SIMULATED_SCHEMA.categorical.length;
  const nNum = SIMULATED_SCHEMA.numeric.length;
  for (let r = 0; r < n; r++) {
    const line = r + 2;
    const cells = lines[r + 1].split(",");
    if (cells.length !== SIMULATED_COLUMNS.length) {
      throw new DataError({ file, line }, `has ${cells.length} values, expected ${SIMULATED_COLUMNS.length}`);
    }
    const num = (k: number): number => {
      const v = Number(cells[k]);
      if (cells[k] === "" || !Number.isFinite(v)) throw new DataError({ file, line, column: SIMULATED_COLUMNS[k] }, `not a number: ${JSON.stringify(cells[k])}`);
      return v;
    };
    const int = (k: number): number => {
      const v = num(k);
      if (!Number.isInteger(v)) throw new DataError({ file, line, column: SIMULATED_COLUMNS[k] }, `not an integer: ${JSON.stringify(cells[k])}`);
      return v;
    };
    const label = (k: number): number => {
      const v = int(k);
      if (v !== 0 && v !== 1) throw new DataError({ file, line, column: SIMULATED_COLUMNS[k] }, `label must be 0 or 1, got ${cells[k]}`);
      return v;
    };
    const prob = (k: number): number => {
      const v = num(k);
      if (v < 0 || v > 1) throw new DataError({ file, line, column: SIMULATED_COLUMNS[k] }, `probability outside [0, 1]: ${cells[k]}`);
      return v;
    };
    log.day[r] = int(0);
    if (expectedDay !== undefined && log.day[r] !== expectedDay) {
      throw new DataError({ file, line, column: "day" }, `day ${cells[0]} in the file of day ${expectedDay} (every row of ${path.basename(file)} must be of day ${expectedDay})`);
    }
    for (let f = 0; f < nCat; f++) log.categorical[f][r] = int(1 + f);
    for (let f = 0; f < nNum; f++) log.numeric[f][r] = num(1 + nCat + f);
    const k = 1 + nCat + nNum;
    log.click[r] = label(k);
    log.conversion[r] = label(k + 1);
    if (log.conversion[r] && !log.click[r]) throw new DataError({ file, line, column: "conversion" }, "conversion without a click");
    log.truth!.pClick[r] = prob(k + 2);
    log.truth!.pConversionGivenClick[r] = prob(k + 3);
  }
  return log;
}

export interface ReadSimulatedLogOptions {
  /** Days to read, in this order (default: every day of the manifest, in manifest order). */
  days?: number[];
  /**
   * Use the binary cache `<dir>/log.bin` (see lib/data/log-cache.ts): default true, read it when valid, else
   * parse the CSV files and, when every day was read, (re)write it. false: parse the CSV files and leave
   * log.bin alone (neither read nor written).
   */
  cache?: boolean;
}

export interface LoadedSimulatedLog {
  log: ImpressionLog;
  /** Where the rows came from: the binary cache log.bin, or the day CSV files. */
  from: "cache" | "csv";
  /** True when this call (re)wrote log.bin. */
  cacheWritten: boolean;
  /** Why log.bin was not used, when it was consulted and not used (e.g. "no cache file", "truncated: ..."). */
  cacheMiss?: string;
}

const warned = new Set<string>();

/** One line on stderr, once per process for the same text. */
function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`${line}\n`);
}

/**
 * Reads the simulated log in `dir` (all days, or `options.days`), checked against its manifest, and says
 * where the rows came from. Rows are the days' rows in the order asked for: `size` = the sum of their
 * manifest `impressions`; columns as in lib/data/schema.ts (`categorical` raw ids Int32, `numeric` Float32,
 * `truth` Float64 probabilities as written in the CSV, 9 significant digits).
 *
 * With the cache on (default), a valid `log.bin` gives the rows without parsing any CSV (identical arrays:
 * the cache is the CSV parse's own arrays); a missing one is silently made; a stale, truncated, damaged or
 * unreadable one is said so in one line on stderr (once per process per message), then the CSV files are
 * parsed and the cache rewritten. A failure to write the cache is said on stderr and does not fail the read.
 *
 * Throws a DataError when the manifest is missing or bad (e.g. its days skip one), names a day the log lacks,
 * lists no rows for a day asked for, or a day file is missing, malformed (file, line and column named), holds
 * a row of another day, or another number of rows than the manifest says.
 */
export function loadSimulatedLog(dir: string, options: ReadSimulatedLogOptions = {}): LoadedSimulatedLog {
  const { manifest, sha256 } = readManifestWithHash(dir);
  const wanted = options.days ?? manifest.days.map((d) => d.day);
  const entries = wanted.map((day) => {
    const entry = manifest.days.find((d) => d.day === day);
    if (!entry) throw new DataError({ file: path.join(dir, MANIFEST_FILE) }, `no day ${day} (days 0-${manifest.days.length - 1})`);
    if (!(entry.impressions > 0)) {
      throw new DataError(
        { file: path.join(dir, entry.file) },
        `day ${day} has no rows (manifest.json lists ${entry.impressions} impressions for it; simulate at least one impression per day: --impressions >= --days)`,
      );
    }
    return entry;
  });
  const useCache = options.cache ?? true;
  const cacheFile = path.join(dir, LOG_CACHE_FILE);
  const source = (list: DayEntry[]) => list.map((e) => path.basename(e.file)).join(", ");
  let key: ReturnType<typeof currentCacheKey> | undefined;
  let cacheMiss: string | undefined;
  if (useCache) {
    try {
      key = currentCacheKey(dir, sha256, manifest.days);
    } catch {
      key = undefined; // a day file is missing: the CSV read below names it
    }
    if (key) {
      const cached = readLogCache(dir, key, SIMULATED_SCHEMA, source(manifest.days));
      if (cached.ok) return { log: selectDays(cached.log, manifest.days, entries, source(entries)), from: "cache", cacheWritten: false };
      cacheMiss = cached.detail;
      if (cached.reason !== "missing") warnOnce(`esmm: ${cacheFile}: ${cached.detail}; not used, reading the CSV files instead`);
    }
  }
  const log = concatLogs(entries.map((e) => readSimulatedDay(path.join(dir, e.file), e.impressions, e.day)));
  let cacheWritten = false;
  const everyDay = wanted.length === manifest.days.length && wanted.every((d, i) => d === manifest.days[i].day);
  if (useCache && key && everyDay) {
    try {
      writeLogCache(dir, log, key);
      cacheWritten = true;
    } catch (e) {
      warnOnce(`esmm: ${cacheFile}: could not write the cache (${(e as Error).message}); the CSV files will be parsed again next time`);
    }
  }
  return { log, from: "csv", cacheWritten, cacheMiss };
}

/**
 * Reads the simulated log in `dir` (all days, or `options.days`), checked against its manifest: from the
 * binary cache log.bin when it is valid, else from the CSV files (then writing the cache). Same rows, columns
 * and errors as `loadSimulatedLog`, which also says where the rows came from.
 */
export function readSimulatedLog(dir: string, options: ReadSimulatedLogOptions = {}): ImpressionLog {
  return loadSimulatedLog(dir, options).log;
}

/** The rows of `entries`' days (in that order) from `all`, the whole log in manifest order; `all` itself when every day is asked for in order. */
function selectDays(all: ImpressionLog, days: DayEntry[], entries: DayEntry[], source: string): ImpressionLog {
  if (entries.length === days.length && entries.every((e, i) => e === days[i])) return all;
  const start = new Map<number, number>();
  let offset = 0;
  for (const d of days) {
    start.set(d.day, offset);
    offset += d.impressions;
  }
  const slices = entries.map((e) => {
    const [a, b] = [start.get(e.day)!, start.get(e.day)! + e.impressions];
    return {
      schema: all.schema,
      size: b - a,
      day: all.day.subarray(a, b),
      click: all.click.subarray(a, b),
      conversion: all.conversion.subarray(a, b),
      categorical: all.categorical.map((c) => c.subarray(a, b)),
      numeric: all.numeric.map((c) => c.subarray(a, b)),
      truth: { pClick: all.truth!.pClick.subarray(a, b), pConversionGivenClick: all.truth!.pConversionGivenClick.subarray(a, b) },
      source: path.basename(e.file),
    };
  });
  const out = concatLogs(slices);
  out.source = source;
  return out;
}

export { rowsPerDay };

/** Reuses the log in `dir` when its manifest has the same resolved config and seed; generates it otherwise. */
export function ensureSimulatedLog(config: Partial<SimulatorConfig>, seed: number, dir: string, options: SimulateOptions = {}): { manifest: SimulationManifest; reused: boolean } {
  const wanted = resolveConfig(config);
  try {
    const m = readManifest(dir);
    if (m.seed === seed && JSON.stringify(m.config) === JSON.stringify(wanted)) return { manifest: m, reused: true };
  } catch {
    // no usable log yet
  }
  return { manifest: writeSimulatedLog(wanted, seed, dir, options), reused: false };
}
