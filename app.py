"""Launch the Engram Workbench on the default model (demo users preloaded).

python app.py [--host 127.0.0.1] [--port 7860] [--model DIR [--engram ADAPTER_DIR]] [--workdir DIR] [--auth-file FILE]

Serving on an address other than loopback needs operator accounts (--auth-file, or the
ENGRAM_WORKBENCH_AUTH_FILE / ENGRAM_WORKBENCH_AUTH variables); see "Security model" in the README.
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--model",
        default=None,
        help="model directory: a workbench model, a nanochat-engram checkpoint, or a Hugging Face base folder "
        "with --engram (default: the shipped model)",
    )
    parser.add_argument("--engram", default=None, help="an engram-peft adapter folder for the --model base folder")
    parser.add_argument(
        "--workdir",
        default=None,
        help="where the memory store goes (default: engram-workbench/<model digest> in $XDG_DATA_HOME or "
        "~/.local/share, kept across restarts)",
    )
    parser.add_argument(
        "--auth-file", default=None, help="JSON file of operator accounts (password hashes and roles), never passwords"
    )
    parser.add_argument("--no-demo", action="store_true", help="do not write the three demo users at start-up")
    args = parser.parse_args()
    from workbench.access import AccessError
    from workbench.app import serve

    try:
        serve(
            host=args.host,
            port=args.port,
            model_dir=args.model,
            engram=args.engram,
            workdir=args.workdir,
            auth_file=args.auth_file,
            demo_users=not args.no_demo,
        )
    except AccessError as exc:
        print(f"workbench: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
