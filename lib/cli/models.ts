/**
 * `esmm models`: the model zoo as a table (trunk, towers, pCTCVR, loss terms, characteristics measured on
 * each built model), as text or Markdown; `--sources` adds where each model and its defaults come from.
 */
import { Command } from "./args";
import { initBackend } from "../backend";
import { MODEL_ZOO } from "../models";
import { modelTableCompactRows, modelTableMarkdown, modelTableRows } from "../views/model-table";
import { tableText } from "../views/tables";

export const modelsCommand: Command = {
  name: "models",
  summary: "list the models (trunk, towers, loss terms, characteristics)",
  usage: `esmm models [--wide | --markdown] [--sources]

Prints the models of the zoo (lib/models/zoo.ts): the paper's six, the families beyond ESMM and the field's
debiasing baselines (Multi-IPW ... ChorusCVR, with the ESCM2 release's two weight presets), with the
characteristics derived from each built model's graph, narrow enough for a terminal (loss terms by tower, the
characteristics that hold in one column). --wide prints every column (each loss term with its label and rows, a
column per characteristic); --markdown the same as a Markdown table (docs/models.md's); --sources adds each model's
paper and which defaults were chosen here.`,
  options: { markdown: { type: "boolean" }, wide: { type: "boolean" }, sources: { type: "boolean" } },
  async run(values) {
    await initBackend("cpu");
    console.log(values.markdown ? modelTableMarkdown() : tableText(values.wide ? modelTableRows() : modelTableCompactRows()));
    if (values.sources) {
      console.log("");
      for (const s of MODEL_ZOO) console.log(values.markdown ? `- **${s.name}**: ${s.source}` : `${s.name}: ${s.source}`);
    }
  },
};
