/**
 * Reports: the documentation's generated blocks (generated-blocks.ts: markers, the one writer, the registry of
 * blocks). The PDF export (pdf.ts) is imported on its own by the commands that print reports.
 */
export * from "./generated-blocks";
