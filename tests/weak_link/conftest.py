"""The weak-link harness lives in bench/ (bench/weak_link_net.py, bench/weak_link_session.py), beside
the benchmark that uses it; these tests run the same harness with short windows."""

from __future__ import annotations

import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
