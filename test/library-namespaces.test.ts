/**
 * lib/index.ts exports namespaces, one a concern (issue 23 point 4), and the notebooks call the library through
 * them: `lab.study.summarizeStudy`, `lab.views.fairReport.verdictRows`, types as `lab.study.StudySpec`.
 *
 * - The built library's top-level names are exactly the namespaces below, each a module object.
 * - Every `lab.…` of every notebook (code and markdown cells) names a namespace and an export of it: a value
 *   present at run time, or, when absent there, a type the namespace exports (asked of the TypeScript checker on
 *   lib/index.ts). A flat `lab.summarizeStudy` left in a notebook, or a name that moved, fails here in seconds
 *   rather than in the notebook run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import * as lab from "../lib";
import { PROJECT_DIR } from "./paths";

const NAMESPACES = ["data", "sources", "models", "train", "metrics", "analysis", "stats", "study", "tune", "plots", "views", "format", "backend", "report"];

test("the library exports namespaces only", () => {
  assert.deepEqual(Object.keys(lab).sort(), [...NAMESPACES].sort());
  for (const ns of NAMESPACES) assert.equal(typeof (lab as Record<string, unknown>)[ns], "object", ns);
  assert.equal(typeof lab.views.fairReport, "object");
  assert.equal(typeof lab.study.summarizeStudy, "function");
});

/** Every `lab.a.b` or `lab.a.b.c` reference of the notebooks, with where it is. */
function notebookReferences(): { where: string; parts: string[] }[] {
  const dir = path.join(PROJECT_DIR, "notebooks");
  const refs: { where: string; parts: string[] }[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort()) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { cells: { id?: string; source: string | string[] }[] };
    for (const cell of nb.cells) {
      const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      // not preceded by a word character or a single dot (a spread `...lab.x` counts)
      for (const m of text.matchAll(/(?<![\w$])(?<!(?:^|[^.])\.)lab((?:\.[A-Za-z_$][\w$]*)+)/g)) {
        refs.push({ where: `${file} cell ${cell.id}`, parts: m[1].slice(1).split(".") });
      }
    }
  }
  return refs;
}

/** The names each namespace exports as a type only, from the TypeScript checker on lib/index.ts. */
function typeExports(): Map<string, Set<string>> {
  const index = path.join(PROJECT_DIR, "lib", "index.ts");
  const program = ts.createProgram([index], { strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  const out = new Map<string, Set<string>>();
  for (const ns of checker.getExportsOfModule(module)) {
    out.set(ns.name, new Set(checker.getExportsOfModule(checker.getAliasedSymbol(ns)).map((s) => s.name)));
  }
  return out;
}

test("every lab.… of the notebooks names a namespace and one of its exports", () => {
  const refs = notebookReferences();
  assert.ok(refs.length > 200, `only ${refs.length} references found: the notebooks were not read`);
  const flat = refs.filter((r) => !NAMESPACES.includes(r.parts[0])).map((r) => `${r.where}: lab.${r.parts.join(".")}`);
  assert.deepEqual(flat, [], "flat names: write lab.<namespace>.<name>");
  const missingAtRuntime = refs.filter((r) => {
    let x: unknown = lab;
    for (const p of r.parts.slice(0, 3)) {
      if (typeof x !== "object" || x === null || !(p in x)) return true;
      x = (x as Record<string, unknown>)[p];
      if (typeof x === "function") return false; // lab.ns.fn.call / .length: a property of a value
    }
    return false;
  });
  const types = missingAtRuntime.length > 0 ? typeExports() : new Map<string, Set<string>>();
  const unknown = missingAtRuntime.filter((r) => r.parts.length !== 2 || !types.get(r.parts[0])?.has(r.parts[1])).map((r) => `${r.where}: lab.${r.parts.join(".")}`);
  assert.deepEqual(unknown, [], "names that are neither a value nor a type of their namespace");
});
