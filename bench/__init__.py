"""fgrkern benchmarks.

The bench_*.py scripts import each other as top-level modules (``from
benchlib import ...``) because they are run as scripts by bench/run.py.  asv
imports this folder as a package (``benchmark_dir`` in asv.conf.json) and
imports every module in it, so this folder is put on sys.path for those
imports to resolve; importing any module here has no other side effect.
"""

import os as _os
import sys as _sys

_HERE = _os.path.dirname(_os.path.abspath(__file__))
if _HERE not in _sys.path:
    _sys.path.append(_HERE)
