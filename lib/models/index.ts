/** The six models of the study as data (zoo.ts), their losses, and the spec -> model builder. */
export * from "./spec";
export * from "./losses";
export * from "./blocks";
export * from "./build";
export * from "./zoo";
