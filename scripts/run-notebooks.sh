#!/usr/bin/env bash
# Executes notebooks top to bottom with nbconvert on the project's tslab kernel.
#   run-notebooks.sh --check NB...   execute into test-artifacts/notebooks/
#   run-notebooks.sh --report NB...  execute into reports/ (executed .ipynb + HTML export of each, and one
#                                    self-contained report reports/esmm-lab-report.html of them all when they are
#                                    two or more, with the list of its notebooks beside it), or into $ESMM_REPORTS_DIR (make test:
#                                    test-artifacts/reports, leaving reports/ alone); the HTML files are written
#                                    after the last notebook, in one process (scripts/export-reports.py)
# Both fail on any error output (scripts/check-notebook-outputs.py); each notebook's stderr goes to <out>/<name>.log.
# Figures go where the notebooks' saveFigure puts them: figures/, or $ESMM_FIGURES_DIR (make test: test-artifacts/figures).
# The profile comes from ESMM_PROFILE (quick | full), which the notebooks read in their first cell.
# While a notebook runs (nbconvert shows nothing until it ends), a line every ESMM_NOTEBOOK_HEARTBEAT seconds
# (default 60; 0: none) gives the time so far and the records of the results file it last wrote (runs/*.jsonl).
set -euo pipefail
usage() { echo "usage: run-notebooks.sh --check|--report NOTEBOOK..." >&2; exit 2; }
[ $# -ge 2 ] || usage
mode=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
jupyter="$here/.venv/bin/jupyter"
case "$mode" in
  --check) out="$here/test-artifacts/notebooks" ;;
  --report) out="${ESMM_REPORTS_DIR:-$here/reports}" ;;
  *) usage ;;
esac
for nb in "$@"; do
  [ -f "$nb" ] || { echo "run-notebooks.sh: no such notebook: $nb" >&2; exit 2; }
done
mkdir -p "$out"
if [ "$mode" = --report ]; then : > "$out/report.log"; fi
status=0
executed=()
every=${ESMM_NOTEBOOK_HEARTBEAT:-60}
runs="${ESMM_RUNS_DIR:-$here/runs}"
beat=""
trap '[ -n "$beat" ] && kill "$beat" 2>/dev/null; true' EXIT
heartbeat() {
  local name=$1 start=$2 newest extra
  while sleep "$every"; do
    newest=$(find "$runs" -maxdepth 1 -name '*.jsonl' -newermt "@$start" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -1 | cut -d' ' -f2- || true)
    extra=""
    if [ -n "$newest" ]; then extra=", $(wc -l < "$newest" | tr -d ' ') records in $(basename "$newest")"; fi
    echo "   $name: $(( $(date +%s) - start )) s so far$extra"
  done
}
stop_heartbeat() {
  if [ -n "$beat" ]; then kill "$beat" 2>/dev/null || true; wait "$beat" 2>/dev/null || true; beat=""; fi
}
for nb in "$@"; do
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  echo "== $name (profile ${ESMM_PROFILE:-full})"
  if [ "$every" != 0 ]; then heartbeat "$name" "$start" & beat=$!; fi
  if ! "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=tslab \
      --ExecutePreprocessor.timeout=-1 --output-dir "$out" --output "$name" "$nb" 2>"$out/$name.log"; then
    stop_heartbeat
    echo "FAILED: $name (see $out/$name.log)"; tail -20 "$out/$name.log"; status=1; continue
  fi
  stop_heartbeat
  executed+=("$out/$name.ipynb")
  "$here/.venv/bin/python" "$here/scripts/check-notebook-outputs.py" "$out/$name.ipynb" || status=1
  echo "   $name: $(( $(date +%s) - start )) s"
done
if [ "$mode" = --report ] && [ ${#executed[@]} -gt 0 ]; then
  # Each executed notebook's HTML beside it, and when every notebook ran clean the combined report, in one process
  # (scripts/export-reports.py; offline: no require.js or MathJax from a CDN).
  # The combined report is of two notebooks or more (make reproduce's four): one notebook's HTML is its own report,
  # and `make beyond` or `make fair` must not replace make reproduce's combined report with theirs.
  report=()
  if [ $status -ne 0 ]; then
    echo "combined report not written: a notebook failed ($out/esmm-lab-report.html, if there, is an earlier run's)"
  elif [ ${#executed[@]} -gt 1 ]; then
    report=(--report "$out/esmm-lab-report.html")
  fi
  if ! "$here/.venv/bin/python" "$here/scripts/export-reports.py" ${report[@]+"${report[@]}"} "${executed[@]}" 2>>"$out/report.log"; then
    echo "FAILED: the HTML export ($(tail -1 "$out/report.log"); see $out/report.log)"; status=1
  fi
fi
exit $status
