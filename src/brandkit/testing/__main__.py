"""``python -m brandkit.testing serve <platform> [--port N]``: serve an emulator on 127.0.0.1."""

from __future__ import annotations

import sys

from brandkit.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["serve"]:
        argv = ["emulate", *argv[1:]]
    sys.exit(main(argv))
