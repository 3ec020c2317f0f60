/**
 * The paper's findings as functions of a study summary (lib/study/summary.ts), each returning
 * `{ id, claim, holds, reason, evidence, values }` with `holds` true, false or "inconclusive", decided
 * by the rules below from the summary's numbers only. `FINDING_RULES` lists the same rules as data, for
 * notebooks; `findingsText` renders the verdicts as markdown sentences built from the numbers.
 *
 * Conventions shared by every rule:
 * - "better" follows the summary's metric: lower for cross-entropy / NE / ECE, higher for ROC-AUC and
 *   PR-AUC. The findings are stated for the paper's metric (CTCVR cross-entropy on the test day) but
 *   are evaluated on whichever metric and split the summary holds; the claims name it.
 * - IP is always the model named "IP" (whatever baseline the summary normalised by). Percent changes
 *   vs IP are recomputed here: g(X) = 100 (mean_IP - mean_X) / mean_IP for lower-is-better metrics,
 *   100 (mean_X - mean_IP) / mean_IP for higher-is-better ones (positive = X better than IP), with
 *   se 100 se_X / |mean_IP|.
 * - p is the two-sided Welch t-test p-value of the pair from the summary's comparisons: the RAW p by
 *   default, as in the paper ("better than" at p < alpha); `{ pValue: "holm" }` uses the Holm-adjusted
 *   p of the summary's table instead. alpha is the summary's alpha (default 0.01).
 * - A directional claim ("X better than IP") HOLDS when the means point the claimed way and p < alpha;
 *   it DOES NOT HOLD when the means do not point the claimed way (whatever p: the data contradict the
 *   direction); it is INCONCLUSIVE when the means point the claimed way but p >= alpha (too little
 *   evidence), or when a model it needs has fewer than 2 defined runs (no test possible).
 *
 * The rules (ids as in FINDING_RULES):
 *   esp-worse-than-ip      ESP's mean is worse than IP's (higher cross-entropy) and p(ESP, IP) < alpha.
 *   sharing-helps          IPSP's mean is better than IP's and p(IPSP, IP) < alpha (hard parameter
 *                          sharing alone helps).
 *   esmm-ns-better-than-ip ESMM-NS's mean is better than IP's and p(ESMM-NS, IP) < alpha (entire space
 *                          + weighted CVR, without sharing, helps).
 *   esmm-close-to-ipsp     p(ESMM, IPSP) >= alpha (no significant difference) AND sd(ESMM) > sd(IPSP)
 *                          (sample sds over seeds). Does not hold when p < alpha or sd(ESMM) <= sd(IPSP);
 *                          inconclusive only when either model has < 2 defined runs.
 *   gains-not-additive     interaction I = g(ESMM) - (g(ESMM-NS) + g(IPSP)), in percent of IP's mean;
 *                          it equals 100/|mean_IP| times the 2x2 factorial interaction contrast
 *                          +-(mean_ESMM - mean_ESMM-NS - mean_IPSP + mean_IP) (sign so that I > 0 means
 *                          ESMM gains more than the sum). Its se is 100/|mean_IP| sqrt(se_ESMM^2 +
 *                          se_ESMM-NS^2 + se_IPSP^2 + se_IP^2) (independent runs; IP's se enters because
 *                          IP's mean appears in the contrast), its df Welch-Satterthwaite
 *                          (sum se_k^2)^2 / sum(se_k^4 / (n_k - 1)), p = two-sided t p-value of I / se.
 *                          HOLDS when I < 0 and p < alpha (ESMM's gain is significantly less than the
 *                          sum of the gains of its two ingredients); DOES NOT HOLD when I >= 0;
 *                          INCONCLUSIVE when I < 0 but p >= alpha, or a model has < 2 defined runs.
 *                          (No Holm family: one contrast, raw p in both modes.)
 *
 * findingsAcrossLevels(summariesByLevel): evaluates the findings at every level of a sensitivity
 * factor and, per finding, says whether it holds at every level, at some, or at none (inconclusive
 * levels count as "not holding"), listing the levels in each state.
 */
import { twoSidedP } from "../stats";
import { ModelSummary, StudySummary, comparison, modelSummary } from "./summary";

export type Verdict = boolean | "inconclusive";

export type FindingId = "esp-worse-than-ip" | "sharing-helps" | "esmm-ns-better-than-ip" | "esmm-close-to-ipsp" | "gains-not-additive";

export interface Finding {
  id: FindingId;
  /** The claim, naming the metric. */
  claim: string;
  holds: Verdict;
  /** Why the verdict follows from the numbers (one clause, computed). */
  reason: string;
  /** The numbers the verdict rests on. */
  evidence: string;
  /** The same numbers, for tables and tests. */
  values: Record<string, number>;
}

export interface FindingRule {
  id: FindingId;
  claim: string;
  models: string[];
  holds: string;
  doesNotHold: string;
  inconclusive: string;
}

/** The rules of the findings, as data (see the file comment for the shared conventions). */
export const FINDING_RULES: readonly FindingRule[] = [
  {
    id: "esp-worse-than-ip",
    claim: "ESP is worse than IP",
    models: ["ESP", "IP"],
    holds: "ESP's mean is worse than IP's (higher cross-entropy) and Welch p(ESP, IP) < alpha",
    doesNotHold: "ESP's mean is as good as or better than IP's",
    inconclusive: "ESP's mean is worse but p >= alpha, or ESP or IP has fewer than 2 defined runs",
  },
  {
    id: "sharing-helps",
    claim: "Hard parameter sharing helps: IPSP is better than IP",
    models: ["IPSP", "IP"],
    holds: "IPSP's mean is better than IP's and Welch p(IPSP, IP) < alpha",
    doesNotHold: "IPSP's mean is as good as or worse than IP's",
    inconclusive: "IPSP's mean is better but p >= alpha, or IPSP or IP has fewer than 2 defined runs",
  },
  {
    id: "esmm-ns-better-than-ip",
    claim: "ESMM-NS is better than IP",
    models: ["ESMM-NS", "IP"],
    holds: "ESMM-NS's mean is better than IP's and Welch p(ESMM-NS, IP) < alpha",
    doesNotHold: "ESMM-NS's mean is as good as or worse than IP's",
    inconclusive: "ESMM-NS's mean is better but p >= alpha, or ESMM-NS or IP has fewer than 2 defined runs",
  },
  {
    id: "esmm-close-to-ipsp",
    claim: "ESMM is close to IPSP, with larger variance",
    models: ["ESMM", "IPSP"],
    holds: "Welch p(ESMM, IPSP) >= alpha and sd(ESMM) > sd(IPSP) over seeds",
    doesNotHold: "p(ESMM, IPSP) < alpha, or sd(ESMM) <= sd(IPSP)",
    inconclusive: "ESMM or IPSP has fewer than 2 defined runs",
  },
  {
    id: "gains-not-additive",
    claim: "The gains are not additive: ESMM gains less over IP than ESMM-NS and IPSP together",
    models: ["ESMM", "ESMM-NS", "IPSP", "IP"],
    holds:
      "I = g(ESMM) - (g(ESMM-NS) + g(IPSP)) < 0 (g = % better than IP) and its Welch-Satterthwaite t test " +
      "(se from all four models' se, IP's included) has p < alpha",
    doesNotHold: "I >= 0: ESMM gains at least the sum of the two gains",
    inconclusive: "I < 0 but p >= alpha, or one of the four models has fewer than 2 defined runs",
  },
];

export interface FindingOptions {
  /** Which p decides significance in the pairwise rules: "raw" (default, as in the paper) or "holm". */
  pValue?: "raw" | "holm";
}

// ---------------------------------------------------------------------------------------------------
// Formatting of numbers in reasons and evidence.

function fmt(x: number, digits = 4): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

function fmtPct(x: number): string {
  if (Number.isNaN(x)) return "NaN %";
  return `${x > 0 ? "+" : ""}${x.toFixed(2)} %`;
}

function fmtP(p: number): string {
  if (Number.isNaN(p)) return "NaN";
  if (p === 0) return "0";
  return p < 1e-3 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

const IP = "IP";

interface Ctx {
  s: StudySummary;
  alpha: number;
  useHolm: boolean;
}

function describe(m: ModelSummary): string {
  return `${m.model} ${fmt(m.mean)} ± ${fmt(m.se, 2)} (sd ${fmt(m.sd, 2)}, n = ${m.n})`;
}

/** Percent better than IP (positive = better) and its se. */
function gainVsIp(ctx: Ctx, m: ModelSummary, ip: ModelSummary): { g: number; se: number } {
  const base = ip.mean;
  if (!Number.isFinite(base) || base === 0) return { g: NaN, se: NaN };
  const g = ctx.s.higherIsBetter ? (100 * (m.mean - base)) / base : (100 * (base - m.mean)) / base;
  return { g, se: (100 * m.se) / Math.abs(base) };
}

/** The models of a rule, or the reason it cannot be tested. */
function need(ctx: Ctx, names: string[]): { models: ModelSummary[] } | { missing: string } {
  const models: ModelSummary[] = [];
  for (const name of names) {
    const m = modelSummary(ctx.s, name);
    if (!m || m.n === 0) return { missing: `${name} has no defined runs` };
    if (m.n < 2) return { missing: `${name} has only ${m.n} defined run (a t test needs at least 2 per model)` };
    models.push(m);
  }
  return { models };
}

function inconclusiveFinding(id: FindingId, claim: string, missing: string): Finding {
  return { id, claim, holds: "inconclusive", reason: missing, evidence: "not enough runs", values: {} };
}

function pairP(ctx: Ctx, a: string, b: string): { p: number; pRaw: number; pHolm: number; t: number; df: number } {
  const c = comparison(ctx.s, a, b);
  if (!c) return { p: NaN, pRaw: NaN, pHolm: NaN, t: NaN, df: NaN };
  return { p: ctx.useHolm ? c.pHolm : c.p, pRaw: c.p, pHolm: c.pHolm, t: c.t, df: c.df };
}

function pWord(ctx: Ctx): string {
  return ctx.useHolm ? "Holm-adjusted p" : "Welch p";
}

/** "X is better (or worse) than IP": the shared directional rule. */
function versusIp(ctx: Ctx, id: FindingId, model: string, claimBetter: boolean): Finding {
  const lowerHigher = ctx.s.higherIsBetter ? (claimBetter ? "higher" : "lower") : claimBetter ? "lower" : "higher";
  const claim = `${model} is ${claimBetter ? "better" : "worse"} than ${IP} (${lowerHigher} ${ctx.s.label})`;
  const got = need(ctx, [model, IP]);
  if ("missing" in got) return inconclusiveFinding(id, claim, got.missing);
  const [m, ip] = got.models;
  const { g, se } = gainVsIp(ctx, m, ip);
  const { p, pRaw, pHolm, t, df } = pairP(ctx, model, IP);
  const better = ctx.s.higherIsBetter ? m.mean > ip.mean : m.mean < ip.mean;
  const worse = ctx.s.higherIsBetter ? m.mean < ip.mean : m.mean > ip.mean;
  const directionOk = claimBetter ? better : worse;
  const significant = p < ctx.alpha;
  const holds: Verdict = !directionOk ? false : significant ? true : "inconclusive";
  const diff = better ? `${Math.abs(g).toFixed(2)} % better than` : worse ? `${Math.abs(g).toFixed(2)} % worse than` : "equal to";
  const pText = `${pWord(ctx)} = ${fmtP(p)} ${significant ? "<" : ">="} alpha = ${ctx.alpha}`;
  const reason = directionOk
    ? `${model}'s mean ${ctx.s.label} is ${diff} ${IP}'s, ${significant ? "" : "but "}${pText}`
    : `${model}'s mean ${ctx.s.label} is ${diff} ${IP}'s (${pText})`;
  const evidence = `${describe(m)}; ${describe(ip)}; ${model} vs ${IP} ${fmtPct(g)} ± ${se.toFixed(2)}; Welch t = ${fmt(t, 3)}, df = ${fmt(df, 3)}, p = ${fmtP(pRaw)} (Holm ${fmtP(pHolm)})`;
  return {
    id,
    claim,
    holds,
    reason,
    evidence,
    values: { mean: m.mean, meanIp: ip.mean, percentVsIp: g, percentVsIpSe: se, t, df, p: pRaw, pHolm, alpha: ctx.alpha },
  };
}

function context(summary: StudySummary, options: FindingOptions): Ctx {
  return { s: summary, alpha: summary.alpha, useHolm: options.pValue === "holm" };
}

/** ESP's mean is worse than IP's and p < alpha (see FINDING_RULES). */
export function espWorseThanIp(summary: StudySummary, options: FindingOptions = {}): Finding {
  return versusIp(context(summary, options), "esp-worse-than-ip", "ESP", false);
}

/** IPSP's mean is better than IP's and p < alpha: hard parameter sharing helps. */
export function sharingHelps(summary: StudySummary, options: FindingOptions = {}): Finding {
  const f = versusIp(context(summary, options), "sharing-helps", "IPSP", true);
  return { ...f, claim: `Hard parameter sharing helps: ${f.claim}` };
}

/** ESMM-NS's mean is better than IP's and p < alpha. */
export function esmmNsBetterThanIp(summary: StudySummary, options: FindingOptions = {}): Finding {
  return versusIp(context(summary, options), "esmm-ns-better-than-ip", "ESMM-NS", true);
}

/** p(ESMM, IPSP) >= alpha and sd(ESMM) > sd(IPSP). */
export function esmmCloseToIpsp(summary: StudySummary, options: FindingOptions = {}): Finding {
  const ctx = context(summary, options);
  const id: FindingId = "esmm-close-to-ipsp";
  const claim = `ESMM is close to IPSP (no significant difference in ${ctx.s.label}) with a larger spread over seeds`;
  const got = need(ctx, ["ESMM", "IPSP"]);
  if ("missing" in got) return inconclusiveFinding(id, claim, got.missing);
  const [e, i] = got.models;
  const { p, pRaw, pHolm, t, df } = pairP(ctx, "ESMM", "IPSP");
  const close = !(p < ctx.alpha); // NaN p (identical constant samples) counts as no difference
  const wider = e.sd > i.sd;
  const holds = close && wider;
  const diffPct = Number.isFinite(i.mean) && i.mean !== 0 ? (100 * (e.mean - i.mean)) / Math.abs(i.mean) : NaN;
  const ratio = e.sd / i.sd;
  const parts = [
    `the means differ by ${Math.abs(diffPct).toFixed(2)} % of IPSP's with ${pWord(ctx)} = ${fmtP(p)} ${close ? ">=" : "<"} alpha = ${ctx.alpha}`,
    `ESMM's sd is ${fmt(ratio, 3)} times IPSP's (${fmt(e.sd, 2)} vs ${fmt(i.sd, 2)})`,
  ];
  // When it holds, both conditions; when it does not, the condition(s) that failed.
  const reason = holds ? parts.join(", and ") : parts.filter((_, k) => (k === 0 ? !close : !wider)).join(", and ");
  const evidence = `${describe(e)}; ${describe(i)}; Welch t = ${fmt(t, 3)}, df = ${fmt(df, 3)}, p = ${fmtP(pRaw)} (Holm ${fmtP(pHolm)}); sd ratio ESMM/IPSP ${fmt(ratio, 3)}`;
  return {
    id,
    claim,
    holds,
    reason,
    evidence,
    values: { meanEsmm: e.mean, meanIpsp: i.mean, sdEsmm: e.sd, sdIpsp: i.sd, sdRatio: ratio, t, df, p: pRaw, pHolm, alpha: ctx.alpha },
  };
}

/** I = g(ESMM) - (g(ESMM-NS) + g(IPSP)) < 0 with a Welch-Satterthwaite t test at alpha. */
export function gainsNotAdditive(summary: StudySummary, options: FindingOptions = {}): Finding {
  const ctx = context(summary, options);
  const id: FindingId = "gains-not-additive";
  const claim = `The gains are not additive: ESMM's gain over IP in ${ctx.s.label} is less than ESMM-NS's gain plus IPSP's gain`;
  const got = need(ctx, ["ESMM", "ESMM-NS", "IPSP", IP]);
  if ("missing" in got) return inconclusiveFinding(id, claim, got.missing);
  const [e, ns, sp, ip] = got.models;
  const gE = gainVsIp(ctx, e, ip);
  const gNs = gainVsIp(ctx, ns, ip);
  const gSp = gainVsIp(ctx, sp, ip);
  const interaction = gE.g - (gNs.g + gSp.g);
  const scale = 100 / Math.abs(ip.mean);
  const v = [e, ns, sp, ip].map((m) => (m.se * scale) ** 2);
  const se = Math.sqrt(v.reduce((a, b) => a + b, 0));
  const df = (se * se) ** 2 / [e, ns, sp, ip].reduce((acc, m, k) => acc + (v[k] * v[k]) / (m.n - 1), 0);
  const t = interaction / se;
  const p = se > 0 ? twoSidedP(t, df) : interaction === 0 ? NaN : 0;
  const significant = p < ctx.alpha;
  const holds: Verdict = !(interaction < 0) ? false : significant ? true : "inconclusive";
  const sum = gNs.g + gSp.g;
  const cmp = interaction < 0 ? "less than" : interaction > 0 ? "more than" : "exactly";
  const pText = `p = ${fmtP(p)} ${significant ? "<" : ">="} alpha = ${ctx.alpha}`;
  const reason =
    `ESMM's gain over IP, ${fmtPct(gE.g)}, is ${cmp} the sum ${fmtPct(sum)} of ESMM-NS's ${fmtPct(gNs.g)} and IPSP's ${fmtPct(gSp.g)} ` +
    `(I = ${fmtPct(interaction)} ± ${se.toFixed(2)}, ${interaction < 0 && !significant ? "not significant: " : ""}${pText})`;
  const evidence =
    `g(ESMM) ${fmtPct(gE.g)} ± ${gE.se.toFixed(2)}, g(ESMM-NS) ${fmtPct(gNs.g)} ± ${gNs.se.toFixed(2)}, g(IPSP) ${fmtPct(gSp.g)} ± ${gSp.se.toFixed(2)}; ` +
    `I = ${fmtPct(interaction)} ± ${se.toFixed(2)}, t = ${fmt(t, 3)}, df = ${fmt(df, 3)}, p = ${fmtP(p)}; n = ${[e, ns, sp, ip].map((m) => `${m.model} ${m.n}`).join(", ")}`;
  return {
    id,
    claim,
    holds,
    reason,
    evidence,
    values: { gainEsmm: gE.g, gainEsmmNs: gNs.g, gainIpsp: gSp.g, interaction, interactionSe: se, t, df, p, alpha: ctx.alpha },
  };
}

const FINDING_FUNCTIONS: Record<FindingId, (s: StudySummary, o?: FindingOptions) => Finding> = {
  "esp-worse-than-ip": espWorseThanIp,
  "sharing-helps": sharingHelps,
  "esmm-ns-better-than-ip": esmmNsBetterThanIp,
  "esmm-close-to-ipsp": esmmCloseToIpsp,
  "gains-not-additive": gainsNotAdditive,
};

/** All findings, in FINDING_RULES order. */
export function evaluateFindings(summary: StudySummary, options: FindingOptions = {}): Finding[] {
  return FINDING_RULES.map((r) => FINDING_FUNCTIONS[r.id](summary, options));
}

export function verdictText(holds: Verdict): string {
  return holds === true ? "holds" : holds === false ? "does not hold" : "inconclusive";
}

/**
 * Markdown: a count line, then one bullet per finding: the claim, the verdict, the computed reason and
 * the numbers. `title` (optional) is put first as a sentence, e.g. the metric, split and seeds.
 */
export function findingsText(findings: readonly Finding[], options: { title?: string } = {}): string {
  const count = (v: Verdict) => findings.filter((f) => f.holds === v).length;
  const held = count(true);
  const failed = count(false);
  const open = count("inconclusive");
  const lines: string[] = [];
  if (options.title) lines.push(options.title, "");
  lines.push(
    `${held} of ${findings.length} finding${findings.length === 1 ? "" : "s"} of the paper ${held === 1 ? "holds" : "hold"} here` +
      (failed > 0 ? `, ${failed} ${failed === 1 ? "does" : "do"} not` : "") +
      (open > 0 ? `, ${open} ${open === 1 ? "is" : "are"} inconclusive` : "") +
      ".",
    "",
  );
  for (const f of findings) {
    lines.push(`- **${f.claim}**: ${verdictText(f.holds)}. ${capitalize(f.reason)}. _(${f.evidence})_`);
  }
  return lines.join("\n");
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------------
// Across the levels of a sensitivity factor.

export interface FindingAcrossLevels {
  id: FindingId;
  claim: string;
  /** "every": holds at every level; "some": at some but not all; "none": at no level. */
  verdict: "every" | "some" | "none";
  levels: string[];
  holdsAt: string[];
  failsAt: string[];
  inconclusiveAt: string[];
  /** The per-level findings, in level order. */
  perLevel: { level: string; finding: Finding }[];
  /** One sentence, e.g. "holds at some levels: a, b (does not hold at c; inconclusive at d)". */
  text: string;
}

/**
 * Per finding, whether it holds at every level, at some or at none. Levels are the keys, in the Map's
 * order (or the object's key order: note that JavaScript puts integer-like keys such as "2" first;
 * use a Map to keep another order).
 */
export function findingsAcrossLevels(
  summariesByLevel: ReadonlyMap<string | number, StudySummary> | Readonly<Record<string, StudySummary>>,
  options: FindingOptions = {},
): FindingAcrossLevels[] {
  const entries: [string, StudySummary][] =
    summariesByLevel instanceof Map
      ? [...summariesByLevel.entries()].map(([k, v]) => [String(k), v])
      : Object.entries(summariesByLevel as Record<string, StudySummary>);
  const levels = entries.map(([k]) => k);
  const perLevel = entries.map(([level, s]) => ({ level, findings: evaluateFindings(s, options) }));
  return FINDING_RULES.map((rule, k) => {
    const rows = perLevel.map(({ level, findings }) => ({ level, finding: findings[k] }));
    const holdsAt = rows.filter((r) => r.finding.holds === true).map((r) => r.level);
    const failsAt = rows.filter((r) => r.finding.holds === false).map((r) => r.level);
    const inconclusiveAt = rows.filter((r) => r.finding.holds === "inconclusive").map((r) => r.level);
    const verdict = levels.length > 0 && holdsAt.length === levels.length ? "every" : holdsAt.length === 0 ? "none" : "some";
    const others = [
      failsAt.length > 0 ? `does not hold at ${failsAt.join(", ")}` : "",
      inconclusiveAt.length > 0 ? `inconclusive at ${inconclusiveAt.join(", ")}` : "",
    ].filter((x) => x !== "");
    const text =
      verdict === "every"
        ? `holds at every level (${holdsAt.join(", ")})`
        : verdict === "some"
          ? `holds at some levels: ${holdsAt.join(", ")} (${others.join("; ")})`
          : `holds at no level` + (others.length > 0 ? ` (${others.join("; ")})` : "");
    return { id: rule.id, claim: rows[0]?.finding.claim ?? rule.claim, verdict, levels, holdsAt, failsAt, inconclusiveAt, perLevel: rows, text };
  });
}

const VERDICT_WORDS = { every: "holds at every level", some: "holds at some levels", none: "holds at no level" } as const;

/** Markdown table of findingsAcrossLevels: one row per finding. */
export function findingsAcrossLevelsText(rows: readonly FindingAcrossLevels[]): string {
  return [
    "| finding | verdict | holds at | does not hold at | inconclusive at |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.claim} | ${VERDICT_WORDS[r.verdict]} | ${r.holdsAt.join(", ") || "-"} | ${r.failsAt.join(", ") || "-"} | ${r.inconclusiveAt.join(", ") || "-"} |`),
  ].join("\n");
}
