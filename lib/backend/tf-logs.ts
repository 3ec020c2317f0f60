/**
 * TensorFlow's own log lines on the native backend (tfjs-node): quiet by default, back on with
 * ESMM_TF_LOGS=1 or a TF_CPP_MIN_LOG_LEVEL of the user's (which is always respected).
 *
 * Measured with the TensorFlow 2.21 C library that `make native` installs:
 * - TF_CPP_MIN_LOG_LEVEL is read when the library loads, so setting it in process.env before the binding
 *   is required works (Node passes the change on to the C environment); 2 hides INFO and WARNING (e.g.
 *   cpu_feature_guard's "This TensorFlow binary is optimized ..." pair) and keeps ERROR and FATAL.
 * - Two lines come out before TensorFlow applies that level, while libtensorflow_framework loads:
 *   absl's "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR" and
 *   "I... port.cc:153] oneDNN custom operations are on ...". No logging variable silences them
 *   (TF_CPP_MIN_LOG_LEVEL=3 set before node starts, TF_CPP_MAX_VLOG_LEVEL, absl/glog variables: tried);
 *   only TF_ENABLE_ONEDNN_OPTS=0 does, by switching oneDNN's kernels off, which changes the computation,
 *   so it is not done here. Where esmm-lab reads a child's stderr (study workers) it drops these lines
 *   (isTfStartupNoise); a process that loads the backend itself (esmm train, a bench child run by hand)
 *   still prints them.
 */

/** The opt-in: ESMM_TF_LOGS=1 shows TensorFlow's log lines. */
export const TF_LOGS_VAR = "ESMM_TF_LOGS";
/** TF_CPP_MIN_LOG_LEVEL by default: INFO and WARNING hidden, ERROR and FATAL shown. */
export const QUIET_TF_LOG_LEVEL = "2";

function set(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== "";
}

/** Whether ESMM_TF_LOGS asks for TensorFlow's log lines (any value but empty, 0, false, no, off). */
export function tfLogsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[TF_LOGS_VAR];
  return set(v) && !/^(0|false|no|off)$/i.test(v.trim());
}

/**
 * What to add to a process's environment before TensorFlow loads: TF_CPP_MIN_LOG_LEVEL=2, unless the
 * user set TF_CPP_MIN_LOG_LEVEL (kept as it is) or ESMM_TF_LOGS asks for the logs (then nothing).
 */
export function tfLogEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (set(env.TF_CPP_MIN_LOG_LEVEL) || tfLogsRequested(env)) return {};
  return { TF_CPP_MIN_LOG_LEVEL: QUIET_TF_LOG_LEVEL };
}

/**
 * Whether a process with this environment should show TensorFlow's load-time INFO lines (see the header):
 * when ESMM_TF_LOGS asks for them, or when the user's TF_CPP_MIN_LOG_LEVEL is 0 (INFO shown).
 */
export function tfStartupLinesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (tfLogsRequested(env)) return true;
  const level = env.TF_CPP_MIN_LOG_LEVEL;
  return set(level) && Number(level.trim()) <= 0;
}

/** The stderr lines TensorFlow prints while it loads, before TF_CPP_MIN_LOG_LEVEL applies (see the header). */
const STARTUP_NOISE = [/All log messages before absl::InitializeLog\(\) is called/, /\] oneDNN custom operations are on\b/];

/** Whether `line` is one of TensorFlow's load-time lines that no logging variable silences. */
export function isTfStartupNoise(line: string): boolean {
  return STARTUP_NOISE.some((re) => re.test(line));
}
