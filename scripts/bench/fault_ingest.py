"""A longer fault run than the tests': SIGKILL a real `newsbot ingest` N times at random points, then check that
one more run leaves exactly the index a clean build of the same files gives.

  python scripts/bench/fault_ingest.py corpus/ --kills 10 --seed 7

1. A clean build of PATH... into a temporary folder (`newsbot ingest`, in its own process).
2. `newsbot ingest PATH...` into another folder, N times, each run SIGKILLed once it has logged writing a random
   number of chunks (at most half of what is left to embed) plus a random delay, so that kills land while
   embedding, while writing a round of chunks or while deleting old versions. Each run resumes what the killed
   ones left. NEWSBOT_INGEST_BATCH_CHUNKS is set small (--batch-chunks) so that there are many rounds to hit.
3. One more run to completion; then both indexes are compared: the same articles, chunk ids (no duplicates, no
   stale versions) and chunk counts, one complete version per article, and the keyword index in step with the
   store (its stamp equals bot.store.keyword.fingerprint of the store's chunk ids).

Prints one line per kill and a summary. Exit status 0 when the indexes are equal, 1 when they differ.
The same kill and compare code runs in tests/store/test_faults.py (tests/fault_helpers.py).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path, for tests.fault_helpers)

from tests.fault_helpers import differences, index_state, kill_ingest, run_ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="article files or folders to ingest")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs before the final run (default 5)")
    parser.add_argument("--seed", type=int, help="random seed of the kill points (default: a new one, printed)")
    parser.add_argument(
        "--batch-chunks", type=int, default=8, help="NEWSBOT_INGEST_BATCH_CHUNKS of the killed runs (default 8)"
    )
    parser.add_argument(
        "--max-delay", type=float, default=0.5, help="longest extra wait before a kill, in seconds (default 0.5)"
    )
    parser.add_argument("--keep", metavar="DIR", help="build both indexes in DIR and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    rng = random.Random(seed)
    paths = [str(Path(path).resolve()) for path in args.paths]
    started = time.perf_counter()
    print(f"fault run: {args.kills} kills, seed {seed} (replay with --seed {seed}), rounds of {args.batch_chunks}")

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.keep) if args.keep else Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        clean_dir, killed_dir = work / "clean", work / "killed"
        for folder in (clean_dir, killed_dir):
            if folder.exists():
                raise SystemExit(f"{folder} exists already: give --keep an empty folder")

        print(f"clean build into {clean_dir}: {run_ingest(paths, clean_dir)}")
        clean = index_state(clean_dir)
        total, left = len(clean.chunk_ids), len(clean.chunk_ids)
        if total < 2:
            raise SystemExit("nothing to interrupt: the clean build has fewer than 2 chunks")

        for number in range(1, args.kills + 1):
            after = rng.randint(1, max(1, left // 2))
            delay = rng.uniform(0.0, args.max_delay)
            kill = kill_ingest(
                paths, killed_dir, after_chunks=after, delay=delay, batch_chunks=args.batch_chunks, timeout=1800
            )
            left = max(0, left - kill.written)
            outcome = "killed" if kill.killed else f"ended by itself first (exit status {kill.returncode})"
            print(f"kill {number}: after {after} chunks + {delay:.2f} s: {outcome}; {kill.written} chunks written")
            if not kill.killed:
                print("the index is complete: nothing more to interrupt")
                break

        print(f"final run: {run_ingest(paths, killed_dir)}")
        found = differences(index_state(killed_dir), clean)
        seconds = time.perf_counter() - started
        if found:
            print(f"DIFFERENT from the clean build ({seconds:.0f} s):")
            for line in found:
                print(f"  {line}")
            if not args.keep:
                print("rerun with --keep DIR to look at both indexes")
            return 1
        print(
            f"equal to the clean build: {len(clean.articles)} articles, {total} chunks, keyword index in step "
            f"({seconds:.0f} s)"
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())
