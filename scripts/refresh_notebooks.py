"""Execute notebooks on the sample data and store only the outputs nbval compares.

Run after changing a notebook or the sample company:  python scripts/refresh_notebooks.py notebooks/*.ipynb
Each notebook is executed in place from the notebooks/ folder with its default parameters; then every
output is stripped except those of cells marked ``# NBVAL_CHECK_OUTPUT`` (see strip_notebooks.py).
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strip_notebooks import strip  # noqa: E402


def refresh(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).resolve().parent)}}).execute()
    nbformat.write(nb, path)
    strip(path)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        refresh(p)
        print("refreshed", p)
