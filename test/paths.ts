import * as path from "node:path";

/** Project root (tests run from build/test/). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
/** The read-only shared folder beside the project root: data samples, reference values, notes. */
export const SHARED_DIR = path.resolve(PROJECT_DIR, "..", "shared");
export const FIXTURES_DIR = path.join(PROJECT_DIR, "test", "fixtures");
