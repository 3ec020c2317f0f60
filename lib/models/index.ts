/** Models as data (zoo.ts), their loss kinds, trunk builders and characteristics. */
export * from "./spec";
export * from "./losses";
export * from "./blocks";
export * from "./build";
export * from "./validate";
export * from "./characteristics";
export * from "./zoo";
