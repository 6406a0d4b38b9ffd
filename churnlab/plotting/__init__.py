"""Charts: the only part of churnlab that draws.

Axes-level helpers take the tidy output of the analysis modules and ``ax=None`` and return the Axes.
"""
from ._style import *  # noqa: F401,F403
from .attrition import *  # noqa: F401,F403
from .reasons import *  # noqa: F401,F403
from .risk import *  # noqa: F401,F403
from .sentiment import *  # noqa: F401,F403
from .survival import *  # noqa: F401,F403
