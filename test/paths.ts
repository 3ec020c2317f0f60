import * as path from "node:path";

/** Project root (tests run from build/test/). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
/** Test data kept in the repository: the Ali-CCP sample, reference values, hand-written fixtures. */
export const FIXTURES_DIR = path.join(PROJECT_DIR, "test", "fixtures");
