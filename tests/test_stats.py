import numpy as np
import pandas as pd

from churnlab.stats import add_wilson, format_p, pct, wilson_interval


def test_wilson_known_answer():
    # Wilson (1927) score interval by hand for 81/263, z = 1.959964:
    # centre (p + z^2/2n) / (1 + z^2/n) = 0.310749, half-width 0.055460 -> [0.255289, 0.366210]
    lo, hi = wilson_interval(81, 263)
    assert abs(lo - 0.255289) < 1e-6 and abs(hi - 0.366210) < 1e-6
    # hand-computed: k = 0, n = 10 -> [0, z^2 / (n + z^2)] = [0, 0.277533]
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and abs(hi - 3.841459 / 13.841459) < 1e-6


def test_wilson_vectorised_and_zero_denominator():
    lo, hi = wilson_interval([1, 0], [4, 0])
    assert np.isnan(lo[1]) and np.isnan(hi[1]) and lo[0] < 0.25 < hi[0]
    out = add_wilson(pd.DataFrame({"k": [5], "n": [20]}), k_col="k", n_col="n", name="r")
    assert list(out.columns) == ["k", "n", "r", "r_lo", "r_hi"] and out.r[0] == 0.25


def test_plain_formatting():
    assert format_p(1e-9) == "p < 0.001" and format_p(float("nan")) == "p not available"
    assert pct(0.1234) == "12.3%"
