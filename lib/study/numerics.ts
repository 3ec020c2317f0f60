/** The numerics versions and the source hash moved to lib/numerics.ts (below lib/study and lib/sources, which both key with them). */
export * from "../numerics";
