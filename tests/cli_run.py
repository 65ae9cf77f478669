"""The real ``engram-probe`` command line, run in the test's own process.

``run_cli`` calls ``engram_probe.cli.main`` with the arguments, as the console script does, and returns what a
subprocess would: the exit code, stdout and stderr. A fresh interpreter costs about 3 s of imports (torch,
transformer-lens) per command, and the suite runs some 250 commands; the parser, the handlers, the files written
and the exit codes are the same. What a command changes in the process (environment, working folder, umask,
torch's thread count, the random generators, ``sys.argv``, warning filters, standard streams) is put back after
it, so that one command cannot leak into the next. An exception the command does not handle is printed as the
interpreter would, with exit code 1. ``tests/integration/test_cli_groups.py`` and ``test_ledger_cli.py`` still
run ``python -m engram_probe.cli`` as a child process, as an operator does.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
import traceback
import warnings

import numpy as np
import torch

from engram_probe.cli import main


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", errors="backslashreplace")


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``engram-probe ARGS`` in this process: ``CompletedProcess(args, returncode, stdout, stderr)``."""
    out, err = _stream(), _stream()
    saved_env, saved_cwd, saved_threads = dict(os.environ), os.getcwd(), torch.get_num_threads()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_stdin, saved_argv = sys.stdin, sys.argv
    sys.argv = ["engram-probe", *args]  # some commands record their own command line from it
    saved_rng = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors, and any command that exits
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except Exception:  # noqa: BLE001 (as the interpreter would: a traceback and exit code 1)
                traceback.print_exc()
                code = 1
    finally:
        sys.stdin, sys.argv = saved_stdin, saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        os.umask(saved_umask)
        torch.set_num_threads(saved_threads)
        torch.random.set_rng_state(saved_rng[0])
        np.random.set_state(saved_rng[1])
        random.setstate(saved_rng[2])
    return subprocess.CompletedProcess(["engram-probe", *args], code, _text(out), _text(err))
