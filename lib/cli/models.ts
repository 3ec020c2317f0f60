/**
 * `esmm models`: the model zoo as a table (trunk, towers, pCTCVR, loss terms, characteristics measured on
 * each built model), as text or Markdown; `--sources` adds where each model and its defaults come from.
 */
import { Command } from "./args";
import { initBackend } from "../backend";
import { MODEL_ZOO } from "../models";
import { modelTableMarkdown, modelTableRows } from "../views/model-table";
import { tableText } from "../views/tables";

export const modelsCommand: Command = {
  name: "models",
  summary: "list the models (trunk, towers, loss terms, characteristics)",
  usage: `esmm models [--markdown] [--sources]

Prints the models of the zoo (lib/models/zoo.ts): the paper's six, the families beyond ESMM and the field's
debiasing baselines (Multi-IPW ... ChorusCVR, with the ESCM2 release's two weight presets), with the
characteristics derived from each built model's graph. --markdown prints a Markdown table (docs/models.md's);
--sources adds each model's paper and which defaults were chosen here.`,
  options: { markdown: { type: "boolean" }, sources: { type: "boolean" } },
  async run(values) {
    await initBackend("cpu");
    console.log(values.markdown ? modelTableMarkdown() : tableText(modelTableRows()));
    if (values.sources) {
      console.log("");
      for (const s of MODEL_ZOO) console.log(values.markdown ? `- **${s.name}**: ${s.source}` : `${s.name}: ${s.source}`);
    }
  },
};
