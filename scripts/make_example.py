"""Write examples/other-company: a small company whose exports use their own names.

The company is a small run of the sample generator (its own seed), translated into another
vocabulary: its own file names, column names, segment values and reason labels, which
examples/other-company/config.yaml maps back to churnlab's. It has no events, users or billing
exports, so the review shows what it does with accounts and exit interviews alone.

Usage: python scripts/make_example.py [out_dir]
"""
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from churnlab.sample import generate

ROOT = Path(__file__).resolve().parent.parent


def main(out: Path) -> None:
    cfg = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))["tables"]
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, seed=11, n_accounts=900, events=False)
        acc = pd.read_csv(Path(tmp) / "accounts.csv", dtype=str, keep_default_na=False)
        iv = pd.read_csv(Path(tmp) / "exit_interviews.csv", dtype=str, keep_default_na=False)
        road = pd.read_csv(Path(tmp) / "roadmap.csv", dtype=str, keep_default_na=False)

    acc_cols = {v: k for k, v in cfg["accounts"]["columns"].items()}
    seg = {v: k for k, v in cfg["accounts"]["values"]["segment"].items()}
    acc = acc[list(acc_cols)].rename(columns=acc_cols)
    acc[acc_cols["segment"]] = acc[acc_cols["segment"]].map(seg)
    acc.to_csv(out / cfg["accounts"]["file"], index=False)

    iv_cols = {v: k for k, v in cfg["exit_interviews"]["columns"].items()}
    prim = {v: k for k, v in cfg["exit_interviews"]["reasons"]["primary_reason"].items()}
    sec = {v: k for k, v in cfg["exit_interviews"]["reasons"]["secondary_reason"].items()}
    iv = iv[list(iv_cols)].copy()
    iv["primary_reason"] = iv["primary_reason"].map(lambda v: prim.get(v, v))
    iv["secondary_reason"] = iv["secondary_reason"].map(lambda v: sec.get(v, v))
    iv.rename(columns=iv_cols).to_csv(out / cfg["exit_interviews"]["file"], index=False)
    road.to_csv(out / cfg["roadmap"]["file"], index=False)
    print(f"wrote {len(acc)} customers, {len(iv)} survey rows into {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "other-company")
