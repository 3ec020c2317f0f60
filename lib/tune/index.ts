/**
 * The tuning protocol (issue 14): a declared search space (space.ts), a seeded design shared by every
 * model (design.ts), trials as variants of an ordinary study and selection on the validation day only,
 * then the tuned study (plan.ts), and what tuning shows: expected best vs trials, spread over trials (analysis.ts).
 */
export * from "./space";
export * from "./design";
export * from "./plan";
export * from "./analysis";
export * from "./protocol";
export * from "./beyond";
