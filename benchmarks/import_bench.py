"""Import time of brandkit against tweepy's, measured in the same run.

Run: ``python benchmarks/import_bench.py [--runs N]``

Each statement runs in a fresh interpreter (``python -c``) ``N`` times; the best wall time is
kept (the least disturbed by other load on the machine), together with the self-reported
``-X importtime`` total of the top-level import. The interpreter's own start-up (``python -c
pass``) is measured too and subtracted, so the ratios compare what each import adds. Prints
each figure and the ratio to ``import tweepy``; the goal of issue 18 is ``import brandkit`` at
≤ 1.0× tweepy's. No timing is asserted: this is for reading.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

STATEMENTS = {
    "baseline": "pass",
    "tweepy": "import tweepy",
    "brandkit": "import brandkit",
    "brandkit.Client": "import brandkit; brandkit.Client",
    "from brandkit import Client, Account, Post": "from brandkit import Client, Account, Post",
    "from brandkit import Post": "from brandkit import Post",
    "brandkit.text": "from brandkit import text",
    # A command or script that counts once pays for the URL extractor's regexes too.
    "brandkit.text, one X count": (
        "from brandkit import text; text.count('launch day: example.com/news', 'x')"
    ),
}

_IMPORTTIME = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s?(\S+)")


def wall(statement: str) -> float:
    """Seconds one fresh interpreter takes to run ``statement`` and exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def importtime(statement: str) -> float:
    """Seconds ``-X importtime`` reports for the top-level imports ``statement`` makes."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        check=True,
        capture_output=True,
        text=True,
    )
    total = 0
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        # Top-level entries only (no indentation before the name): their cumulative time
        # already includes everything they imported.
        if match and not line.split("|")[2].startswith("  "):
            total += int(match.group(1))
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per statement")
    runs = max(1, min(parser.parse_args().runs, 200))

    best_wall = {name: float("inf") for name in STATEMENTS}
    best_imp = {name: float("inf") for name in STATEMENTS}
    # Interleave the statements so a burst of load on the machine hits them all alike.
    for _ in range(runs):
        for name, statement in STATEMENTS.items():
            best_wall[name] = min(best_wall[name], wall(statement))
            best_imp[name] = min(best_imp[name], importtime(statement))

    base = best_wall["baseline"]
    ref_wall = best_wall["tweepy"] - base
    base_imp = best_imp["baseline"]
    ref_imp = best_imp["tweepy"] - base_imp
    print(f"best of {runs} fresh interpreters; interpreter start-up {base * 1e3:.1f} ms")
    print(f"{'statement':44} {'wall−start':>11} {'ratio':>6} {'-X importtime':>14} {'ratio':>6}")
    for name in STATEMENTS:
        if name == "baseline":
            continue
        added = best_wall[name] - base
        imp = best_imp[name] - base_imp
        print(
            f"{name:44} {added * 1e3:8.1f} ms {added / ref_wall:5.2f}x "
            f"{imp * 1e3:11.1f} ms {imp / ref_imp:5.2f}x"
        )
    print("goal (issue 18): import brandkit ≤ 1.00x import tweepy")


if __name__ == "__main__":
    main()
