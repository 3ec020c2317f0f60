/**
 * A model's card in notebook 02: its three characteristics, a small diagram drawn from its spec
 * (embeddings -> trunk -> heads -> outputs, with the loss terms), and its parameter counts.
 */
import { kernelDisplayWriter } from "../plots/kernel";
import { characteristics, ModelSpec, lossTermName } from "../models";
import type { ParameterCount } from "../models";

const yes = (b: boolean) => (b ? "yes" : "no");

/** SVG block diagram of a spec: one column per tower, the product node when pCTCVR = pCTR * pCVR. */
export function modelDiagramSvg(spec: ModelSpec): string {
  const heads = spec.heads;
  const width = 150 * heads.length + 40;
  const box = (x: number, y: number, w: number, text: string, fill: string) =>
    `<rect x="${x}" y="${y}" width="${w}" height="28" rx="5" fill="${fill}" stroke="#333"/><text x="${x + w / 2}" y="${y + 18}" text-anchor="middle" font-size="12" font-family="DejaVu Sans, sans-serif">${text}</text>`;
  const line = (x1: number, y1: number, x2: number, y2: number) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#333"/>`;
  const parts: string[] = [];
  const col = (i: number) => 20 + i * 150;
  if (spec.trunk === "shared") {
    parts.push(box(20, 10, width - 40, "embeddings (shared)", "#d9ecf7"), box(20, 55, width - 40, "shared layers", "#d9ecf7"));
    heads.forEach((_, i) => parts.push(line(col(i) + 65, 83, col(i) + 65, 100)));
  } else {
    heads.forEach((h, i) => parts.push(box(col(i), 10, 130, `embeddings (${h})`, "#fbe3cf"), box(col(i), 55, 130, `layers (${h})`, "#fbe3cf"), line(col(i) + 65, 38, col(i) + 65, 55), line(col(i) + 65, 83, col(i) + 65, 100)));
  }
  if (spec.trunk === "shared") parts.push(line(width / 2, 38, width / 2, 55));
  heads.forEach((h, i) => parts.push(box(col(i), 100, 130, `${h} head → p${h.toUpperCase()}`, "#e4f2e1")));
  let height = 140;
  if (spec.ctcvr === "product") {
    parts.push(box(width / 2 - 90, 150, 180, "pCTCVR = pCTR × pCVR", "#f3e6f5"));
    heads.forEach((_, i) => parts.push(line(col(i) + 65, 128, width / 2, 150)));
    height = 190;
  }
  const losses = spec.losses.map(lossTermName).join(";  ");
  parts.push(`<text x="10" y="${height + 5}" font-size="11" font-family="DejaVu Sans, sans-serif">losses: ${losses}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 15}">${parts.join("")}</svg>`;
}

export function modelCardText(spec: ModelSpec, params?: ParameterCount): string {
  const c = characteristics(spec);
  return [
    `${spec.name}: ${spec.description}`,
    `shared parameters: ${yes(c.sharedParameters)}, entire space: ${yes(c.entireSpace)}, weighted CVR: ${yes(c.weightedCvr)}`,
    `losses: ${spec.losses.map(lossTermName).join(", ")}`,
    params ? `parameters: ${params.total.toLocaleString("en-US")} (embeddings ${params.embeddings.toLocaleString("en-US")}, shared layers ${params.shared.toLocaleString("en-US")}, heads ${params.heads.toLocaleString("en-US")})` : "",
  ].filter(Boolean).join("\n");
}

/** Displays the card (HTML with the SVG diagram, plus text) in a tslab kernel; prints the text elsewhere. */
export function showModelCard(spec: ModelSpec, params?: ParameterCount): void {
  const c = characteristics(spec);
  const text = modelCardText(spec, params);
  const html = `<div style="display:flex;gap:24px;align-items:flex-start"><div>${modelDiagramSvg(spec)}</div><table>
<tr><th style="text-align:left">shared parameters</th><td>${yes(c.sharedParameters)}</td></tr>
<tr><th style="text-align:left">entire space</th><td>${yes(c.entireSpace)}</td></tr>
<tr><th style="text-align:left">weighted CVR (pCTR·pCVR)</th><td>${yes(c.weightedCvr)}</td></tr>
${params ? `<tr><th style="text-align:left">trainable parameters</th><td>${params.total.toLocaleString("en-US")}</td></tr><tr><th style="text-align:left">of which embeddings</th><td>${params.embeddings.toLocaleString("en-US")}</td></tr><tr><th style="text-align:left">MLP (shared + heads)</th><td>${params.mlp.toLocaleString("en-US")}</td></tr>` : ""}
</table></div>`;
  const write = kernelDisplayWriter();
  if (write) write({ data: { "text/html": html, "text/plain": text }, metadata: {}, transient: {} }, false);
  else console.log(text);
}
