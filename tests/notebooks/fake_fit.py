#!/usr/bin/python3
"""Stand-in for `fit --db DB --export-features FILE` in the notebook unit tests
(tests/notebooks/test_ljplots.py), so that ljplots.export_features is tested without a build.

Writes the JSON file named by $LJ_FAKE_FEATURES to FILE unchanged (an export written by hand,
in the layout of fit/feature_export.h). Fails like the real tool, message on stderr and exit
code 1, when --db or --export-features is missing, when --db names no file, or when
$LJ_FAKE_FIT_ERROR is set (its value is the message).
"""
import os
import shutil
import sys
from pathlib import Path


def fail(message):
    print(f"fit: error: {message}", file=sys.stderr)
    sys.exit(1)


args = sys.argv[1:]
options = dict(zip(args[::2], args[1::2]))
if len(args) != 4 or "--db" not in options or "--export-features" not in options:
    fail(f"usage: fit --db DB --export-features FILE, got {args}")
if not Path(options["--db"]).is_file():
    fail(f"{options['--db']}: no such database")
if os.environ.get("LJ_FAKE_FIT_ERROR"):
    fail(os.environ["LJ_FAKE_FIT_ERROR"])
shutil.copyfile(os.environ["LJ_FAKE_FEATURES"], options["--export-features"])
