/**
 * Metrics over plain arrays (no tensorflow): sklearn-compatible log loss, ROC AUC and average
 * precision, normalized entropy, calibration, and the ESMM evaluation spaces (CTCVR / CVR / CTR).
 * Undefined metrics are NaN, with a reason from the `...Result` variants (see result.ts).
 */
export * from "./result";
export * from "./classification";
export * from "./calibration";
export * from "./spaces";
