"""Fails when an executed notebook holds an error output or a stream on stderr that reports an error."""
import json
import sys

bad = []
for path in sys.argv[1:]:
    nb = json.load(open(path))
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                bad.append(f"{path}: cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Error" in text or "error TS" in text:
                    bad.append(f"{path}: cell {i}: stderr: {text.strip()[:300]}")
for b in bad:
    print("ERROR OUTPUT:", b)
sys.exit(1 if bad else 0)
