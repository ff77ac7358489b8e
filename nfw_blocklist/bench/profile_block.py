"""Where a warm "block +1" spends its CPU on a large group: the scale scenario's case under cProfile.

``python -m nfw_blocklist.bench.profile_block HOSTS [--next-generation] [--save FILE]`` seeds ``HOSTS``
blocked hosts as the scale scenario does, sends one finding (the cold one), then ``MEASURED`` findings in
the warm environment with each handler call's own CPU (moto's answers excluded, as the bench counts it),
then ``scale.WARM_FINDINGS`` more with the block handler under cProfile. moto's side is left out of the
profile too (the profiler is paused while moto answers a handler's AWS calls), so the profile is the
handler's own work, botocore's client side included, as a Lambda pays it. Not part of ``make bench``.
"""

import argparse
import cProfile
import pstats
import statistics
import threading
from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

MEASURED = 10
"""Warm findings whose CPU is measured without the profiler."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nfw_blocklist.bench.profile_block")
    parser.add_argument("hosts", type=int, help="blocked hosts seeded before measuring")
    parser.add_argument("--next-generation", action="store_true", help="firewallPolicyType next-generation")
    parser.add_argument("--save", help="write the cProfile statistics to this file")
    parser.add_argument("--top", type=int, default=25, help="functions shown, by own time")
    args = parser.parse_args(argv)

    from moto.core.botocore_stubber import BotocoreStubber

    from nfw_blocklist.bench.scenarios.scale import WARM_FINDINGS
    from nfw_blocklist.bench.seeding import seed
    from nfw_blocklist.bench.session import Session
    from nfw_blocklist.findings import documentation_hosts, native_finding
    from nfw_blocklist.sandbox import invoker

    overrides = {"firewallPolicyType": "next-generation"} if args.next_generation else {}
    profile = cProfile.Profile()
    with Session(overrides) as session:
        pool = iter(documentation_hosts(args.hosts + MEASURED + WARM_FINDINGS + 2))
        seeded = [next(pool) for _ in range(args.hosts)]
        session.sandbox.put_event(native_finding(next(pool)))
        seed(session, seeded)
        session.instrument.take()
        session.sandbox.put_event(native_finding(next(pool)))
        cold = session.instrument.take()
        print("cold finding, own CPU ms:", {c.handler: round(1000 * c.own_cpu, 1) for c in cold})
        for _ in range(MEASURED):
            session.sandbox.put_event(native_finding(next(pool)))
        calls = session.instrument.take()
        blocks = [1000 * c.own_cpu for c in calls if c.handler == "block"]
        records = [1000 * c.own_cpu for c in calls if c.handler != "block"]
        print("warm block, own CPU ms each:", [round(ms, 1) for ms in blocks])
        print(
            f"warm block median {statistics.median(blocks):.1f} ms, mean {statistics.mean(blocks):.1f} ms; "
            f"record median {statistics.median(records):.1f} ms; "
            f"record + block per finding {(sum(blocks) + sum(records)) / MEASURED:.1f} ms"
        )
        profiled_thread: list[int | None] = [None]
        call = invoker._call
        answer = BotocoreStubber.__call__

        def profiled(handler: Callable[..., Any], event: Any, context: Any) -> Any:
            if getattr(handler, "__name__", "") != "block":
                return call(handler, event, context)
            profiled_thread[0] = threading.get_ident()
            profile.enable()
            try:
                return call(handler, event, context)
            finally:
                profile.disable()
                profiled_thread[0] = None

        def unprofiled_answer(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            ours = profiled_thread[0] == threading.get_ident()
            if ours:
                profile.disable()
            try:
                return answer(stubber, *args, **kwargs)
            finally:
                if ours:
                    profile.enable()

        with (
            mock.patch.object(invoker, "_call", profiled),
            mock.patch.object(BotocoreStubber, "__call__", unprofiled_answer),
        ):
            for _ in range(WARM_FINDINGS):
                session.sandbox.put_event(native_finding(next(pool)))
    if args.save:
        profile.dump_stats(args.save)
    stats = pstats.Stats(profile)
    print(f"{WARM_FINDINGS} profiled block calls:")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
