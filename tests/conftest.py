"""Shared fixtures: the sample company, generated once per test session when missing."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """Folder with the default sample company (seed 7): ``data/sample`` when present, else generated."""
    default = ROOT / "data" / "sample"
    if (default / "accounts.csv").exists():
        return default
    from churnlab.sample import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out, seed=7)
    return out


@pytest.fixture(scope="session")
def sample(sample_dir):
    """The loaded sample :class:`churnlab.sources.Dataset`."""
    from churnlab.sources import load

    return load(sample_dir)
