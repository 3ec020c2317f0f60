"""Exports executed notebooks to HTML, and builds the one self-contained report of them, in one process.

Each NB.ipynb becomes NB.html beside it, byte for byte what `jupyter nbconvert --to html` writes with require.js and
MathJax turned off (they would come from a CDN: the reports must work offline; the charts need neither). With
--report OUT.html the executed notebooks are also concatenated in order under a title and a table of contents into
OUT.html. Each notebook's first chart carries plotly.js inline; in the combined report only the first copy is kept
(the others are removed), so the file holds plotly.js once and works offline. OUT.notebooks.json beside it lists
the executed notebooks it was built from (the browser test counts the charts it must show from them).
One process instead of one `jupyter nbconvert` per file: each paid about 2 s of start-up (measured 2026-12-07).
Usage: export-reports.py [--report OUT.html] NB.ipynb...   (bad arguments or a file that is not a notebook: one line, exit 2)
"""
import copy
import json
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

MARKER = "<!-- plotly.js inlined from plotly.js-dist-min -->"


def exporter() -> HTMLExporter:
    config = Config()
    config.HTMLExporter.require_js_url = "data:,"
    config.HTMLExporter.mathjax_url = "data:,"
    return HTMLExporter(config=config)


def write_html(ex: HTMLExporter, nb, out: Path) -> None:
    """`jupyter nbconvert --to html --output-dir out.parent`'s file: the title from the file's name."""
    body, _ = ex.from_notebook_node(nb, resources={"metadata": {"name": out.stem}})
    out.write_text(body, encoding="utf-8")


def strip_plotly_bundle(html: str) -> str:
    start = html.find(MARKER)
    if start < 0:
        return html
    end = html.find("</script>", start)
    return html[:start] + html[end + len("</script>"):]


def fail(message: str) -> None:
    """One line on stderr, exit 2 (bad arguments or input)."""
    print(f"export-reports.py: {message}", file=sys.stderr)
    sys.exit(2)


def combined_report(sources: list[Path], notebooks: list) -> "nbformat.NotebookNode":
    report = nbformat.v4.new_notebook()
    report.metadata = notebooks[0].metadata
    toc = "\n".join(f"{i + 1}. {p.stem}" for i, p in enumerate(sources))
    title = nbformat.v4.new_markdown_cell(
        "# esmm-lab report\n\nAn analysis of entire-space multi-task models for post-click conversion prediction: "
        "the executed notebooks, in order (`make reproduce` gives notebooks 01-04):\n\n" + toc)
    title.id = "esmm-lab-report-title"  # not a random id: the same notebooks give the same report, byte for byte
    report.cells.append(title)
    bundle_seen = False
    for k, nb in enumerate(notebooks):
        for cell in nb.cells:
            # Unique ids across notebooks (two copies of one notebook share theirs; nbformat would draw random ones).
            if "id" in cell:
                cell.id = f"nb{k + 1}-{cell.id}"[:64]
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html")
                if html is None:
                    continue
                text = "".join(html) if isinstance(html, list) else html
                if MARKER in text:
                    if bundle_seen:
                        output["data"]["text/html"] = strip_plotly_bundle(text)
                    bundle_seen = True
            report.cells.append(cell)
    # The combined notebook as nbformat writes and reads it back (what nbconvert converted when it was a file).
    return nbformat.reads(nbformat.writes(report), as_version=4)


USAGE = "usage: export-reports.py [--report OUT.html] NB.ipynb..."


def read_notebook(path: Path):
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except Exception as e:  # not JSON, not a notebook, an invalid one: nbformat's reason, in one line
        fail(f"{path}: not a notebook ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")


def main() -> None:
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--report"]:
        if len(args) < 2:
            fail(USAGE)
        out = Path(args[1])
        args = args[2:]
    if not args or any(a.startswith("--") for a in args):
        fail(USAGE)
    sources = [Path(p) for p in args]
    ex = exporter()
    notebooks = [read_notebook(p) for p in sources]
    for path, nb in zip(sources, notebooks):
        write_html(ex, nb, path.with_suffix(".html"))
    if out is None:
        return
    write_html(ex, combined_report(sources, [copy.deepcopy(nb) for nb in notebooks]), out)
    out.with_suffix(".notebooks.json").write_text(json.dumps({"notebooks": [p.name for p in sources]}) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB, {len(sources)} notebooks)")


if __name__ == "__main__":
    main()
