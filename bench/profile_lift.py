"""Where Lift's time goes on one measured request: cProfile over many warm calls.

Usage: ``python bench/profile_lift.py ["GET /users/{id}"] [--calls N] [--sort tottime|cumtime] [--top N]``.
cProfile's own overhead inflates every function call, so read the shares, not the totals.
"""

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "apps"), str(HERE)]

from events import LambdaContext, measured_events


def main() -> None:
    kinds = list(measured_events())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", nargs="?", default=kinds[0], choices=kinds)
    parser.add_argument("--app", default="lift_app", help="bench app module (default lift_app)")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    handler = __import__(args.app).handler
    event, context = measured_events()[args.kind], LambdaContext()
    for _ in range(1000):  # warm up: first-call caches, the cold-start flag
        handler(event, context)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.calls):
        handler(event, context)
    profile.disable()
    pstats.Stats(profile).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
