/**
 * A model's card in notebooks 02 and 06: its characteristics, a small diagram drawn from its spec
 * (embeddings -> trunk -> towers -> outputs, with the loss terms), and its parameter counts.
 */
import { kernelDisplayWriter } from "../plots/kernel";
import { CHARACTERISTIC_NAMES, DEFAULT_TRUNK_SIZES, ModelCharacteristics, ModelSpec, characteristics, lossTermName, towerNames } from "../models";
import type { ParameterCount } from "../models";

const yes = (b: boolean) => (b ? "yes" : "no");

/** The trunk's box in the diagram, by kind (separate trunks draw one column per tower instead). */
function trunkLabel(spec: ModelSpec): string | undefined {
  const t = spec.trunk;
  switch (t.kind) {
    case "separate":
      return undefined;
    case "sharedBottom":
      return t.layers && t.layers.length === 0 ? undefined : "shared layers";
    case "mmoe":
      return `${t.experts ?? DEFAULT_TRUNK_SIZES.mmoeExperts} experts, a gate per tower`;
    case "ple":
      return "PLE: shared + task experts, gates";
  }
}

/** SVG block diagram of a spec: one column per tower, the product node when pCTCVR = pCTR * pCVR. */
export function modelDiagramSvg(spec: ModelSpec): string {
  const heads = towerNames(spec);
  const width = 150 * heads.length + 40;
  const box = (x: number, y: number, w: number, text: string, fill: string) =>
    `<rect x="${x}" y="${y}" width="${w}" height="28" rx="5" fill="${fill}" stroke="#333"/><text x="${x + w / 2}" y="${y + 18}" text-anchor="middle" font-size="12" font-family="DejaVu Sans, sans-serif">${text}</text>`;
  const line = (x1: number, y1: number, x2: number, y2: number) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#333"/>`;
  const parts: string[] = [];
  const col = (i: number) => 20 + i * 150;
  if (spec.trunk.kind !== "separate") {
    const label = trunkLabel(spec);
    parts.push(box(20, 10, width - 40, "embeddings (shared)", "#d9ecf7"));
    if (label) parts.push(box(20, 55, width - 40, label, "#d9ecf7"), line(width / 2, 38, width / 2, 55));
    heads.forEach((_, i) => parts.push(line(col(i) + 65, label ? 83 : 38, col(i) + 65, 100)));
  } else {
    heads.forEach((h, i) => parts.push(box(col(i), 10, 130, `embeddings (${h})`, "#fbe3cf"), box(col(i), 55, 130, `layers (${h})`, "#fbe3cf"), line(col(i) + 65, 38, col(i) + 65, 55), line(col(i) + 65, 83, col(i) + 65, 100)));
  }
  spec.towers.forEach((tower, i) => {
    parts.push(box(col(i), 100, 130, `${tower.name} tower${tower.transferFrom ? ` ← ${tower.transferFrom}` : ""}`, "#e4f2e1"));
    if (tower.transferFrom) {
      const j = heads.indexOf(tower.transferFrom);
      parts.push(line(col(j) + 130, 114, col(i), 114));
    }
  });
  let height = 140;
  if (spec.ctcvr === "product") {
    parts.push(box(width / 2 - 90, 150, 180, "pCTCVR = pCTR × pCVR", "#f3e6f5"));
    [heads.indexOf("ctr"), heads.indexOf("cvr")].forEach((i) => parts.push(line(col(i) + 65, 128, width / 2, 150)));
    height = 190;
  }
  const losses = spec.losses.map(lossTermName).join(";  ");
  parts.push(`<text x="10" y="${height + 5}" font-size="11" font-family="DejaVu Sans, sans-serif">losses: ${losses}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, 8 * losses.length)}" height="${height + 15}">${parts.join("")}</svg>`;
}

/** Display labels of the characteristics, in CHARACTERISTIC_NAMES order. */
export const CHARACTERISTIC_LABELS: Record<keyof ModelCharacteristics, string> = {
  sharedParameters: "shared parameters",
  entireSpace: "entire space",
  weightedCvr: "weighted CVR (pCTR·pCVR)",
  experts: "experts",
  counterfactualCorrection: "counterfactual correction",
  transfer: "transfer",
};

/** The same, short, for a terminal's one-column list (`esmm models`). */
export const CHARACTERISTIC_TAGS: Record<keyof ModelCharacteristics, string> = {
  sharedParameters: "shared",
  entireSpace: "entire space",
  weightedCvr: "weighted CVR",
  experts: "experts",
  counterfactualCorrection: "counterfactual",
  transfer: "transfer",
};

export function modelCardText(spec: ModelSpec, params?: ParameterCount): string {
  const c = characteristics(spec);
  return [
    `${spec.name}: ${spec.description}`,
    CHARACTERISTIC_NAMES.map((k) => `${CHARACTERISTIC_LABELS[k]}: ${yes(c[k])}`).join(", "),
    `losses: ${spec.losses.map(lossTermName).join(", ")}`,
    params ? `parameters: ${params.total.toLocaleString("en-US")} (embeddings ${params.embeddings.toLocaleString("en-US")}, shared layers ${params.shared.toLocaleString("en-US")}, heads ${params.heads.toLocaleString("en-US")})` : "",
  ].filter(Boolean).join("\n");
}

/** Displays the card (HTML with the SVG diagram, plus text) in a tslab kernel; prints the text elsewhere. */
export function showModelCard(spec: ModelSpec, params?: ParameterCount): void {
  const c = characteristics(spec);
  const text = modelCardText(spec, params);
  const html = `<div style="display:flex;gap:24px;align-items:flex-start"><div>${modelDiagramSvg(spec)}</div><table>
${CHARACTERISTIC_NAMES.map((k) => `<tr><th style="text-align:left">${CHARACTERISTIC_LABELS[k]}</th><td>${yes(c[k])}</td></tr>`).join("\n")}
${params ? `<tr><th style="text-align:left">trainable parameters</th><td>${params.total.toLocaleString("en-US")}</td></tr><tr><th style="text-align:left">of which embeddings</th><td>${params.embeddings.toLocaleString("en-US")}</td></tr><tr><th style="text-align:left">MLP (shared + heads)</th><td>${params.mlp.toLocaleString("en-US")}</td></tr>` : ""}
</table></div>`;
  const write = kernelDisplayWriter();
  if (write) write({ data: { "text/html": html, "text/plain": text }, metadata: {}, transient: {} }, false);
  else console.log(text);
}
