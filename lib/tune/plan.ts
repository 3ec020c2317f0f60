/**
 * Names shared by the tuning protocol's studies (lib/tune/protocol.ts): the factor of trial variants (level = the
 * trial index) and the variant under which the tuned evaluation runs are analysed.
 */
/** The factor name of trial variants; their level is the trial index k. */
export const TRIAL_FACTOR = "trial";
/** The variant name of the tuned evaluation runs in an analysis (every repeat's, labelled by repeat). */
export const TUNED_VARIANT = "tuned";
