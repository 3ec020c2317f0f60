#!/usr/bin/env bash
# Executes notebooks top to bottom with nbconvert on the project's tslab kernel.
#   run-notebooks.sh --check NB...   execute into test-artifacts/notebooks/ and fail on any error output
#   run-notebooks.sh --report NB...  execute into reports/ (executed .ipynb + HTML export of each, and one
#                                    self-contained report reports/esmm-lab-report.html of them all)
# The profile comes from ESMM_PROFILE (quick | full), which the notebooks read in their first cell.
set -euo pipefail
mode=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
jupyter="$here/.venv/bin/jupyter"
case "$mode" in
  --check) out="$here/test-artifacts/notebooks" ;;
  --report) out="$here/reports" ;;
  *) echo "usage: run-notebooks.sh --check|--report NOTEBOOK..." >&2; exit 2 ;;
esac
mkdir -p "$out"
status=0
for nb in "$@"; do
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  echo "== $name (profile ${ESMM_PROFILE:-full})"
  if ! "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=tslab \
      --ExecutePreprocessor.timeout=-1 --output-dir "$out" --output "$name" "$nb" 2>"$out/$name.log"; then
    echo "FAILED: $name (see $out/$name.log)"; tail -20 "$out/$name.log"; status=1; continue
  fi
  "$here/.venv/bin/python" "$here/scripts/check-notebook-outputs.py" "$out/$name.ipynb" || status=1
  if [ "$mode" = --report ]; then
    # require.js and MathJax would come from a CDN: the reports must work offline (charts need neither)
    "$jupyter" nbconvert --to html --HTMLExporter.require_js_url='data:,' --HTMLExporter.mathjax_url='data:,' \
      --output-dir "$out" "$out/$name.ipynb" 2>>"$out/$name.log"
  fi
  echo "   $name: $(( $(date +%s) - start )) s"
done
if [ "$mode" = --report ] && [ $status -eq 0 ]; then
  executed=()
  for nb in "$@"; do executed+=("$out/$(basename "$nb")"); done
  "$here/.venv/bin/python" "$here/scripts/build-report.py" "$out/esmm-lab-report.html" "${executed[@]}" 2>>"$out/report.log"
fi
exit $status
