"""What the standalone benches (`bench.imports`, `bench.bulk_edit`, `bench.order_lines`)
share: a goal's verdict, and one report printed under the machine's load averages and kept
as JSON in bench/results/."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.database import ROOT


def verdict(met: bool) -> str:
    """How a figure's line starts: whether its goal was met."""
    return "PASS" if met else "FAIL"


@dataclass
class Run:
    """One bench's run: the load average when it started, then its report."""

    title: str
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    def report(self, lines: Iterable[str], figures: dict[str, Any], file: str) -> None:
        """Print `lines` under the load averages before and after; write `figures` (with
        those averages, as "load") to bench/results/`file`."""
        after = os.getloadavg()[0]
        print(f"bench {self.title} (load average {self.load:.2f} before, {after:.2f} after):")
        print("\n".join(lines), flush=True)
        result = {"load": [self.load, after], **figures}
        out = ROOT / "bench" / "results" / file
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
