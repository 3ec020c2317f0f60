/**
 * Progress display for notebooks and the command line.
 *
 *   const p = createProgress({ total: 10, label: "epoch" });
 *   for (...) { ...; p.tick(1, { loss: 0.123 }); }
 *   p.done();
 *
 * - In a tslab kernel: ONE output updated in place (display_data with a display_id, then
 *   update_display_data), an HTML bar plus the text line, at most every `minIntervalMs`.
 * - In a terminal (stderr is a TTY): a `cli-progress` bar on stderr.
 * - Otherwise (CI logs, pipes): one line each time another 10% is reached, and a final "done" line.
 *
 * The line reads like "epoch 4/10 ▕████████░░░░░░░░░░░░▏ 40% 2.50 epoch/s ETA 0:03 loss=0.123".
 * This module loads nothing heavy (no plotly, no playwright): training code can import it.
 */
import type { SingleBar } from "cli-progress";
import { formatCount, formatDuration, formatProgressNumber, formatRate } from "../format";
import { escapeHtml } from "./figure";
import { WriteDisplayData, kernelDisplayWriter, newDisplayId } from "./kernel";

export type ProgressInfo = string | Record<string, string | number>;
export type ProgressMode = "notebook" | "terminal" | "log";

export interface ProgressOptions {
  /** Number of steps expected (>= 0). */
  total: number;
  /** Shown first, e.g. "epoch" or "scoring". */
  label?: string;
  /** What one tick counts, for the rate ("rows" gives "12,345 rows/s"); default: the label, else "it". */
  unit?: string;
  /** Default: notebook inside a tslab kernel, terminal when the stream is a TTY, else log. */
  mode?: ProgressMode | "auto";
  /** Terminal / log output; default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Least time between two notebook updates (ms); default 200. The final state is always sent. */
  minIntervalMs?: number;
  /** Clock in ms (for tests); default Date.now. */
  now?: () => number;
}

export interface Progress {
  /** Advance by n (default 1); `info` is shown after the ETA (a string, or key=value pairs). */
  tick(n?: number, info?: ProgressInfo): void;
  /** Finish: show the final state (elapsed time and mean rate). Later ticks are ignored. */
  done(info?: ProgressInfo): void;
  readonly value: number;
  readonly mode: ProgressMode;
}

const BAR_WIDTH = 20;

export function createProgress(options: ProgressOptions): Progress {
  const total = options.total;
  if (!(Number.isFinite(total) && total >= 0)) throw new RangeError(`createProgress: total must be a number >= 0, got ${total}`);
  const label = options.label ?? "";
  const unit = options.unit ?? (options.label || "it");
  const now = options.now ?? Date.now;
  const stream = options.stream ?? process.stderr;
  const writer = options.mode === undefined || options.mode === "auto" ? kernelDisplayWriter() : null;
  const mode: ProgressMode =
    options.mode && options.mode !== "auto" ? options.mode : writer ? "notebook" : stream.isTTY ? "terminal" : "log";

  const start = now();
  const samples: Array<[number, number]> = [[start, 0]];
  let value = 0;
  let info = "";
  let finished = false;

  const state = (): ProgressState => {
    const t = now();
    const rate = currentRate(samples, t, value, start);
    const remaining = Math.max(0, total - value);
    return {
      label,
      unit,
      value,
      total,
      fraction: total > 0 ? Math.min(1, value / total) : 1,
      rate,
      etaSeconds: rate > 0 ? remaining / rate : remaining === 0 ? 0 : NaN,
      elapsedSeconds: (t - start) / 1000,
      info,
      finished,
    };
  };

  const view = makeView(mode, { writer, stream, minIntervalMs: options.minIntervalMs ?? 200, now });
  view.start(state());

  return {
    get value() {
      return value;
    },
    mode,
    tick(n = 1, newInfo?: ProgressInfo) {
      if (finished) return;
      if (!Number.isFinite(n)) throw new RangeError(`progress.tick: n must be a finite number, got ${n}`);
      value += n;
      if (newInfo !== undefined) info = formatInfo(newInfo);
      samples.push([now(), value]);
      if (samples.length > 64) samples.shift();
      view.update(state());
    },
    done(newInfo?: ProgressInfo) {
      if (finished) return;
      if (newInfo !== undefined) info = formatInfo(newInfo);
      finished = true;
      view.finish(state());
    },
  };
}

export interface ProgressState {
  label: string;
  unit: string;
  value: number;
  total: number;
  /** 0..1 */
  fraction: number;
  /** Steps per second over the recent ticks (0 when unknown). */
  rate: number;
  /** NaN when unknown. */
  etaSeconds: number;
  elapsedSeconds: number;
  info: string;
  finished: boolean;
}

/**
 * Rate over the recent samples: from the latest sample at least half the elapsed time old (at least 10 s, at most
 * 5 min) to now, so work that arrives in bursts (a study's seed group reports its seeds together) is measured over
 * several bursts, not over the ticks of one (which read as tens of runs/s); the mean since the start until 10 s have
 * passed, or when nothing moved since the reference sample (the 64 kept samples' oldest when all are younger).
 */
function currentRate(samples: Array<[number, number]>, t: number, value: number, start: number): number {
  const window = Math.min(300_000, Math.max(10_000, (t - start) / 2));
  let i = -1;
  for (let k = samples.length - 1; k >= 0; k--) {
    if (t - samples[k][0] >= window) {
      i = k;
      break;
    }
  }
  if (i < 0 && t - start >= 10_000 && samples.length > 0) i = 0;
  if (i >= 0 && value > samples[i][1] && t > samples[i][0]) return ((value - samples[i][1]) * 1000) / (t - samples[i][0]);
  return t > start ? (value * 1000) / (t - start) : 0;
}

// ---------------------------------------------------------------------------------------------
// Text formatting

export { formatCount, formatDuration, formatRate };

function formatInfo(info: ProgressInfo): string {
  if (typeof info === "string") return info;
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === "number" ? formatProgressNumber(v) : v}`)
    .join(" ");
}

export function textBar(fraction: number, width = BAR_WIDTH): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `▕${"█".repeat(full)}${"░".repeat(width - full)}▏`;
}

function head(s: ProgressState): string {
  const counter = `${formatCount(s.value)}/${formatCount(s.total)}`;
  return s.label ? `${s.label} ${counter}` : counter;
}

function stats(s: ProgressState): string {
  const parts = s.finished
    ? [`done in ${formatDuration(s.elapsedSeconds)}`, formatRate(s.elapsedSeconds > 0 ? s.value / s.elapsedSeconds : 0, s.unit)]
    : [formatRate(s.rate, s.unit), `ETA ${formatDuration(s.etaSeconds)}`];
  if (s.info) parts.push(s.info);
  return parts.join(" ");
}

/** The one-line text form of a progress state. */
export function formatProgressLine(s: ProgressState): string {
  return `${head(s)} ${textBar(s.fraction)} ${Math.floor(s.fraction * 100)}% ${stats(s)}`;
}

export function progressHtml(s: ProgressState): string {
  const pct = Math.floor(s.fraction * 100);
  const color = s.finished ? "#009E73" : "#0072B2";
  return (
    `<div class="esmm-progress" style="display:flex;align-items:center;gap:8px;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px;line-height:1.6;white-space:nowrap">` +
    `<span>${escapeHtml(head(s))}</span>` +
    `<span style="display:inline-block;width:220px;height:12px;background:#e5e5e5;border-radius:3px;overflow:hidden">` +
    `<span style="display:block;width:${(s.fraction * 100).toFixed(1)}%;height:100%;background:${color}"></span></span>` +
    `<span>${pct}% ${escapeHtml(stats(s))}</span></div>`
  );
}

// ---------------------------------------------------------------------------------------------
// Views

interface View {
  start(s: ProgressState): void;
  update(s: ProgressState): void;
  finish(s: ProgressState): void;
}

function makeView(
  mode: ProgressMode,
  ctx: { writer: WriteDisplayData | null; stream: NodeJS.WritableStream; minIntervalMs: number; now: () => number },
): View {
  if (mode === "notebook") return notebookView(ctx.writer ?? kernelDisplayWriter(), ctx.minIntervalMs, ctx.now);
  if (mode === "terminal") return terminalView(ctx.stream);
  return logView(ctx.stream);
}

function notebookView(writer: WriteDisplayData | null, minIntervalMs: number, now: () => number): View {
  const id = newDisplayId();
  let sent = false;
  let last = -Infinity;
  const send = (s: ProgressState) => {
    if (!writer) return;
    last = now();
    writer(
      { data: { "text/html": progressHtml(s), "text/plain": formatProgressLine(s) }, metadata: {}, transient: { display_id: id } },
      sent,
    );
    sent = true;
  };
  return {
    start: send,
    update(s) {
      if (now() - last >= minIntervalMs || s.value >= s.total) send(s);
    },
    finish: send,
  };
}

function terminalView(stream: NodeJS.WritableStream): View {
  // Loaded lazily: notebooks and logs never need it.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  let bar: SingleBar | null = null;
  const payload = (s: ProgressState) => ({ head: head(s), pct: Math.floor(s.fraction * 100), stats: stats(s) });
  return {
    start(s) {
      bar = new cliProgress.SingleBar({
        stream,
        format: "{head} ▕{bar}▏ {pct}% {stats}",
        barCompleteChar: "█",
        barIncompleteChar: "░",
        barsize: BAR_WIDTH,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 10,
      });
      bar.start(Math.max(s.total, 1e-9), s.value, payload(s));
    },
    update(s) {
      bar?.update(s.value, payload(s));
    },
    finish(s) {
      bar?.update(s.value, payload(s));
      bar?.render();
      bar?.stop();
    },
  };
}

function logView(stream: NodeJS.WritableStream): View {
  let lastDecile = 0;
  return {
    start() {},
    update(s) {
      const decile = Math.floor(s.fraction * 10 + 1e-9);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(formatProgressLine(s) + "\n");
      }
    },
    finish(s) {
      stream.write(formatProgressLine(s) + "\n");
    },
  };
}
