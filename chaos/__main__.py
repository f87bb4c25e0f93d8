"""``python -m chaos [--returns N] [--seconds S] [--database postgresql|sqlite]``: see chaos/run.py."""

import argparse
import asyncio
import sys

from chaos.run import ChaosConfig, run_chaos
from returnflow.logging import configure_logging


def parse(argv: list[str]) -> ChaosConfig:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(prog="./scripts/chaos", description=__doc__)
    parser.add_argument("--returns", type=int, default=defaults.returns, help="returns to drive (%(default)s)")
    parser.add_argument(
        "--seconds", type=float, default=defaults.seconds, help="length of the chaos window (%(default)s s)"
    )
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default=defaults.database)
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every, help="seconds (%(default)s)")
    parser.add_argument("--terminate-every", type=float, default=defaults.terminate_every, help="seconds (%(default)s)")
    parser.add_argument("--fault-every", type=float, default=defaults.fault_every, help="seconds (%(default)s)")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=defaults.settle_seconds,
        help="time the returns get to end after the window (%(default)s s)",
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--seed", type=int, default=None, help="for the chaos loop's jitter")
    args = parser.parse_args(argv)
    return ChaosConfig(
        returns=args.returns,
        seconds=args.seconds,
        database=args.database,
        kill_every=args.kill_every,
        terminate_every=args.terminate_every,
        fault_every=args.fault_every,
        settle_seconds=args.settle_seconds,
        concurrency=args.concurrency,
        seed=args.seed,
    )


def main(argv: list[str]) -> int:
    config = parse(argv)
    configure_logging("ERROR", "console")  # the API runs in here; its request log would drown the report
    print(
        f"chaos: {config.returns} returns on {config.database}; for {config.seconds:.0f} s the worker is SIGKILLed "
        f"every ~{config.kill_every:.0f} s, the database connections terminated every ~{config.terminate_every:.0f} s, "
        f"a payment fault queued every ~{config.fault_every:.0f} s",
        flush=True,
    )
    report = asyncio.run(run_chaos(config))
    print("\n".join(report.lines()))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
