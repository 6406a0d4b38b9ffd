"""Strip notebook outputs before commit, keeping those of cells marked ``# NBVAL_CHECK_OUTPUT``
(their printed lines and the key findings they mark, which nbval compares).

Usage: python scripts/strip_notebooks.py notebooks/*.ipynb
"""
import sys

import nbformat


def strip(path: str) -> bool:
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = "NBVAL_CHECK_OUTPUT" in cell.source
        if not keep and (cell.get("outputs") or cell.get("execution_count")):
            cell["outputs"], cell["execution_count"] = [], None
            changed = True
        if keep:   # printed figures, and the key findings the cell marks (report.findings)
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if (o.get("output_type") == "stream" and o.get("name") == "stdout")
                               or (o.get("output_type") == "display_data"
                                   and (o.get("metadata") or {}).get("churnlab", {}).get("finding"))]
        for k in ("execution", "papermill"):
            if k in cell.metadata:
                del cell.metadata[k]
                changed = True
    for k in ("papermill",):
        if k in nb.metadata:
            del nb.metadata[k]
            changed = True
    nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(("stripped " if strip(p) else "clean    ") + p)
