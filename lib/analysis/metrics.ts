/**
 * THE metric registry: every metric a study record carries, one row each, with the function that computes it,
 * which way is better, its label, its evaluation space and its unit. Everything that names, reads, orders or
 * labels a metric reads this table: summaries (lib/study/summary.ts summarizeStudy, calibrationSummary), and so
 * the findings, the metric tables and the sensitivity grid built on them; the mechanism table
 * (lib/study/mechanism.ts); the tuning's selection score (lib/tune/protocol.ts); `esmm stats --metric`.
 *
 *   name (as a summary takes it)     read from the record's split score     direction  unit
 *   <space>.logLoss                  metrics[space].logLoss                 lower      nats per row
 *   <space>.normalizedEntropy        metrics[space].normalizedEntropy       lower      ratio
 *   <space>.rocAuc                   metrics[space].rocAuc                  higher     probability
 *   <space>.prAuc                    metrics[space].prAuc                   higher     precision
 *   <space>.ece                      metrics[space].ece                     lower      probability
 *   <space>.calibrationRatio         metrics[space].calibrationRatio        one        ratio (1 is ideal)
 *   mechanism.<subset><Quantity>     mechanism.cvr[subset][quantity]        (per row)  (per row)
 *
 * with <space> one of lib/metrics/spaces.ts EVALUATION_SPACES (ctcvr, cvr, ctr: which rows, which label, which
 * prediction), and the mechanism metrics (lib/metrics/mechanism.ts: the pCVR against the simulator's true
 * P(conversion | click, x) on clicked and non-clicked rows) in the cvr space, on every impression. A space metric's
 * `compute` is the lib/metrics function that defines it on one space's rows (evaluateSpace computes the same
 * values in one pass, test/metrics-one-pass.test.ts); a mechanism metric's `compute` reads its quantity of
 * cvrMechanism. Direction "one": 1 is ideal, no better direction (a summary refuses it unless given a direction;
 * calibrationSummary reports it).
 *
 * Not metrics (the record carries them beside): counts and weights (count, weightedCount, positives,
 * weightedPositives; a mechanism subset's rows and weight), undefinedReasons, a mechanism subset's entropy (the
 * truth's own cross-entropy: a floor, no property of the model), the oracle and the CTCVR folds.
 */
import { calibrationRatio, expectedCalibrationError } from "../metrics/calibration";
import { logLoss, normalizedEntropy, prAuc, rocAuc } from "../metrics/classification";
import { CvrTruthInputs, cvrMechanism } from "../metrics/mechanism";
import { SPACE_NAMES, SpaceMetricName, SpaceName } from "../metrics/spaces";
import type { AsRead, SplitScore } from "./record";

/** Which way is better: lower, higher, or "one" (1 is ideal: a calibration ratio). */
export type MetricDirection = "lower" | "higher" | "one";

export type MechanismSubset = "clicked" | "nonClicked";
export type MechanismQuantity = "kl" | "calibration" | "crossEntropy";

interface MetricRowBase {
  direction: MetricDirection;
  unit: string;
}

/** A metric of one evaluation space's rows, computed in every space (named "<space>.<name>"). */
export interface SpaceMetricRow extends MetricRowBase {
  kind: "space";
  /** Its key in each space's scores (lib/metrics/spaces.ts SpaceMetrics). */
  name: SpaceMetricName;
  /** The label after the space's: "cross-entropy" ("CTCVR cross-entropy"). */
  label: string;
  /** Labels y (0/1), predictions p, weights w (all 1 when omitted) of the space's rows, one length: the value (NaN when undefined). */
  compute(y: ArrayLike<number>, p: ArrayLike<number>, w?: ArrayLike<number>): number;
}

/** A pCVR-against-the-truth metric (named "mechanism.<name>", space cvr, simulated data and models with a pCVR only). */
export interface MechanismMetricRow extends MetricRowBase {
  kind: "mechanism";
  name: string;
  subset: MechanismSubset;
  quantity: MechanismQuantity;
  /** The whole label: "CVR bias on non-clicked impressions (KL to the truth)". */
  label: string;
  /** The value on every row of `inputs` (cvrMechanism's subset and quantity). */
  compute(inputs: CvrTruthInputs): number;
}

export type MetricRow = SpaceMetricRow | MechanismMetricRow;

const mechanism = (name: string, subset: MechanismSubset, quantity: MechanismQuantity, direction: MetricDirection, unit: string, label: string): MechanismMetricRow => ({
  kind: "mechanism",
  name,
  subset,
  quantity,
  direction,
  unit,
  label,
  compute: (inputs) => cvrMechanism(inputs)[subset][quantity],
});

/** THE table, in report order: the space metrics, then the mechanism metrics. */
export const METRICS: readonly MetricRow[] = [
  { kind: "space", name: "logLoss", label: "cross-entropy", direction: "lower", unit: "nats per row", compute: (y, p, w) => logLoss(y, p, w) },
  { kind: "space", name: "normalizedEntropy", label: "normalized entropy", direction: "lower", unit: "ratio (log loss / entropy of the base rate)", compute: (y, p, w) => normalizedEntropy(y, p, w) },
  { kind: "space", name: "rocAuc", label: "ROC-AUC", direction: "higher", unit: "probability", compute: rocAuc },
  { kind: "space", name: "prAuc", label: "PR-AUC", direction: "higher", unit: "average precision", compute: prAuc },
  { kind: "space", name: "ece", label: "ECE", direction: "lower", unit: "probability (10 equal-mass bins)", compute: (y, p, w) => expectedCalibrationError(y, p, w) },
  { kind: "space", name: "calibrationRatio", label: "calibration ratio", direction: "one", unit: "ratio (sum p / sum y)", compute: calibrationRatio },
  mechanism("nonClickedKl", "nonClicked", "kl", "lower", "nats per impression", "CVR bias on non-clicked impressions (KL to the truth)"),
  mechanism("clickedKl", "clicked", "kl", "lower", "nats per impression", "CVR fit on clicked impressions (KL to the truth)"),
  mechanism("nonClickedCrossEntropy", "nonClicked", "crossEntropy", "lower", "nats per impression", "CVR cross-entropy to the truth on non-clicked impressions"),
  mechanism("clickedCrossEntropy", "clicked", "crossEntropy", "lower", "nats per impression", "CVR cross-entropy to the truth on clicked impressions"),
  mechanism("nonClickedCalibration", "nonClicked", "calibration", "one", "ratio (sum pCVR / sum truth)", "CVR calibration on non-clicked impressions (to the truth)"),
  mechanism("clickedCalibration", "clicked", "calibration", "one", "ratio (sum pCVR / sum truth)", "CVR calibration on clicked impressions (to the truth)"),
];

/** The prefix of the mechanism metrics' names. */
export const MECHANISM_PREFIX = "mechanism";

/** One named metric: "ctcvr.logLoss" is the row logLoss in space ctcvr. */
export interface MetricEntry {
  /** "ctcvr.logLoss", "mechanism.nonClickedKl". */
  metric: string;
  space: SpaceName;
  /** The row's name: "logLoss", "nonClickedKl". */
  name: string;
  /** "CTCVR cross-entropy"; a mechanism row's own label. */
  label: string;
  row: MetricRow;
}

function entryOf(row: MetricRow, space: SpaceName): MetricEntry {
  if (row.kind === "mechanism") return { metric: `${MECHANISM_PREFIX}.${row.name}`, space: "cvr", name: row.name, label: row.label, row };
  return { metric: `${space}.${row.name}`, space, name: row.name, label: `${space.toUpperCase()} ${row.label}`, row };
}

/** Every metric name the registry knows, in report order: each space metric in every space, then the mechanism metrics. */
export const METRIC_ENTRIES: readonly MetricEntry[] = [
  ...SPACE_NAMES.flatMap((space) => METRICS.filter((r) => r.kind === "space").map((r) => entryOf(r, space))),
  ...METRICS.filter((r) => r.kind === "mechanism").map((r) => entryOf(r, "cvr")),
];

const BY_NAME = new Map(METRIC_ENTRIES.map((e) => [e.metric, e]));

/** The known names, in one line: `"space.metric" with space ... and metric ...; or mechanism.a, mechanism.b, ...`. */
export function knownMetricsText(): string {
  const space = METRICS.filter((r) => r.kind === "space").map((r) => r.name);
  const mech = METRICS.filter((r) => r.kind === "mechanism").map((r) => `${MECHANISM_PREFIX}.${r.name}`);
  return `"space.metric" with space ${SPACE_NAMES.join(", ")} and metric ${space.join(", ")}; or ${mech.join(", ")}`;
}

/** The metric called `metric` ("ctcvr.logLoss"). Throws one line naming the known metrics when there is none. */
export function metricEntry(metric: string): MetricEntry {
  const e = BY_NAME.get(metric);
  if (!e) throw new Error(`unknown metric "${metric}": metrics are ${knownMetricsText()}`);
  return e;
}

/** What a summary compares on: a metric with the way that is better (lib/study/summary.ts summarizeStudy). */
export interface MetricRef {
  /** "ctcvr.logLoss" */
  metric: string;
  space: SpaceName;
  name: string;
  higherIsBetter: boolean;
  /** "CTCVR cross-entropy" */
  label: string;
  /** A mechanism metric's place in the split's `mechanism.cvr`. */
  mechanism?: { subset: MechanismSubset; quantity: MechanismQuantity };
}

/**
 * The metric `metric` with its better direction (`higherIsBetter` overrides the registry's). Throws one line for
 * an unknown name (listing the known ones), or for a metric without a better direction (1 is ideal) and no override.
 */
export function metricRef(metric: string, higherIsBetter?: boolean): MetricRef {
  const e = metricEntry(metric);
  const { direction } = e.row;
  if (higherIsBetter === undefined && direction === "one") {
    throw new Error(`metric "${metric}" has no better direction (1 is ideal): use calibrationSummary, or give a direction`);
  }
  const ref: MetricRef = { metric: e.metric, space: e.space, name: e.name, higherIsBetter: higherIsBetter ?? direction === "higher", label: e.label };
  if (e.row.kind === "mechanism") ref.mechanism = { subset: e.row.subset, quantity: e.row.quantity };
  return ref;
}

/**
 * The part of a record's split score the registry reads: its metrics and mechanism as the analysis reads them
 * (lib/analysis/record.ts: SplitScore, StudySplitScore and a stored line's `test` fit).
 */
export type ScoredSplit = Pick<AsRead<SplitScore>, "metrics" | "mechanism">;

/**
 * The value of `metric` (a name or an entry) in a record's split score; NaN when the score lacks it (no such
 * split, a space the model does not predict, a mechanism metric on real data, null: the runner's NaN).
 */
export function metricValue(score: ScoredSplit | undefined, metric: string | MetricEntry): number {
  const e = typeof metric === "string" ? metricEntry(metric) : metric;
  const holder = e.row.kind === "mechanism" ? score?.mechanism?.cvr?.[e.row.subset] : score?.metrics?.[e.space];
  const v = (holder as Record<string, unknown> | undefined)?.[e.row.kind === "mechanism" ? e.row.quantity : e.name];
  return typeof v === "number" ? v : NaN;
}

/**
 * The metrics of one kind a summary can compare on (a better direction), for help texts: "logLoss,
 * normalizedEntropy, ece (lower is better), rocAuc or prAuc (higher is better)"; mechanism names with their prefix.
 */
export function comparableMetricsText(kind: MetricRow["kind"]): string {
  const prefix = kind === "mechanism" ? `${MECHANISM_PREFIX}.` : "";
  const list = (names: string[]) => (names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`);
  return (["lower", "higher"] as const)
    .map((d) => METRICS.filter((r) => r.kind === kind && r.direction === d).map((r) => prefix + r.name))
    .map((names, i) => (names.length === 0 ? "" : `${list(names)} (${i === 0 ? "lower" : "higher"} is better)`))
    .filter((t) => t !== "")
    .join(", ");
}
