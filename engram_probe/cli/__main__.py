"""``python -m engram_probe.cli ...``: the same as ``engram-probe ...``."""

import sys

from engram_probe.cli import main

sys.exit(main())
