"""Splitting an article's HTML into top-level blocks (``html_blocks``, which the Ghost adapter
runs on every article): seconds for markup that is hard for a naive parser (end tags that
close nothing, a deep tree of distinct tags) against plain paragraphs of the same size, at
growing sizes. Linear work keeps each ratio near 1 and each time growing with the size;
quadratic work (the scan this replaced took 18 s for 280 KiB) shows as ratios that grow.
No timing is asserted: this is for reading.

    python benchmarks/html_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from brandkit.content._html import html_blocks

SHAPES: dict[str, Callable[[int], str]] = {
    "end tags closing nothing": lambda n: "<b>" * n + "</c>" * n,
    "deep tree of distinct tags": lambda n: (
        "".join(f"<t{i}>" for i in range(n)) + "".join(f"</t{i}>" for i in reversed(range(n)))
    ),
}


def best(source: str, runs: int) -> float:
    """The best of ``runs`` timings of ``html_blocks(source)``, in seconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        html_blocks(source)
        times.append(time.perf_counter() - began)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timings per figure (best kept)")
    args = parser.parse_args(argv)
    print(f"{'markup':28} {'n':>7} {'KiB':>7} {'seconds':>8} {'plain':>8} {'ratio':>6}")
    for name, make in SHAPES.items():
        for n in (10_000, 20_000, 40_000, 80_000):
            source = make(n)
            took = best(source, args.runs)
            plain = best("<p>x</p>" * (len(source) // 8), args.runs)
            print(
                f"{name:28} {n:7d} {len(source) / 1024:7.0f} {took:8.3f} {plain:8.3f} "
                f"{took / plain:6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
