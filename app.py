"""Launch the Engram Workbench on the default model (demo users preloaded).

python app.py [--host 127.0.0.1] [--port 7860] [--model DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--model",
        default=None,
        help="model directory: a workbench model or a nanochat-engram checkpoint (default: the shipped model)",
    )
    parser.add_argument("--workdir", default=None, help="where the memory store and reports go (default: temp)")
    args = parser.parse_args()
    from workbench.app import serve

    serve(host=args.host, port=args.port, model_dir=args.model, workdir=args.workdir)


if __name__ == "__main__":
    main()
