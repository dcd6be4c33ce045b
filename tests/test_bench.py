"""The benchmarks still run and still count what they claim: one IDX round trip per user action."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys

from conftest import ROOT


def bench(script: str, *args: str, seconds: float = 120) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}  # the simulator, not an org
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=seconds
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_password_sign_in_costs_five_calls():
    assert "IDX calls per sign-in: 5..5" in bench("signin_calls.py", "--runs", "3")


def test_the_cpu_bench_measures_each_store_beside_the_floor():
    """bench/signin_cpu.py runs (its figures are the machine's; what is checked is what it
    counts): every store's row has its ratio to the floor, 5 IDX calls a sign-in, and Redis at
    most 14 round trips (issue 20)."""
    out = bench("signin_cpu.py", "--signins", "5", "--repeat", "1")
    rows = {
        tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.startswith(("memory", "redis"))
    }
    assert set(rows) == {("memory", "1"), ("memory", "16"), ("redis", "1"), ("redis", "16")}
    for (store, _), figures in rows.items():
        if store == "memory":
            figures.insert(2, "")  # no ratio to itself
        cpu, to_floor, to_memory, _rate, _p50, _p99, calls, trips, commands = figures
        assert float(cpu) > 0 and float(to_floor) > 1 and float(calls) == 5.0
        if store == "redis":
            assert float(to_memory) > 0 and 0 < float(trips) <= 14 and float(commands) > float(trips)


def test_the_latency_bench_runs_steady_arrivals_beside_the_floor():
    """bench/latency.py's steady mode (Poisson arrivals) measures the bare floor app first, then
    each store, every sign-in reaching home with 5 IDX calls, each store's rows beside the
    floor's. A few seconds at a low rate: what is checked is what it prints, not the figures."""
    out = bench(
        "latency.py",
        "--mode",
        "steady",
        "--rate",
        "30",
        "--duration",
        "3",
        "--think",
        "0.2",
        "--stores",
        "floor,memory",
    )
    assert re.search(r"^floor: \d+ flows, .* 5\.0 IDX calls per sign-in$", out, re.M), out
    assert re.search(r"^memory: \d+ flows, .* 5\.0 IDX calls per sign-in$", out, re.M), out
    memory = out.split("\nmemory:")[1]
    every = next(line.split() for line in memory.splitlines() if line.startswith("every step"))
    p50, p99, floor_p50, floor_p99, difference = map(float, every[2:])
    assert 0 <= p50 <= p99 and 0 <= floor_p50 <= floor_p99 and abs(difference - (p99 - floor_p99)) <= 0.11


def test_the_instruction_bench_counts_the_floor_and_a_store_under_callgrind():
    """bench/signin_instructions.py (valgrind's callgrind: the CPU bench's ratios without the
    machine's noise) prints the floor's instructions per sign-in and each store's, with its
    ratio to the floor, at both concurrencies. Two sign-ins: what is checked is what it counts."""
    out = bench("signin_instructions.py", "--signins", "2", "--warm", "2", "--stores", "memory", seconds=600)
    rows = {
        tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.startswith(("floor", "memory"))
    }
    assert set(rows) == {("floor", "1"), ("floor", "16"), ("memory", "1"), ("memory", "16")}, out
    for concurrency in ("1", "16"):
        [floor], [memory, to_floor] = rows["floor", concurrency], rows["memory", concurrency]
        assert float(floor) > 0.5 and float(memory) > float(floor)  # millions: the app does more than the floor
        assert abs(float(to_floor) - float(memory) / float(floor)) < 0.02


@functools.cache
def journey_bench() -> str:
    return bench("journey_calls.py", "--runs", "2")


def test_each_journey_action_costs_one_call():
    out = journey_bench()
    journeys = ("registration", "password recovery", "account unlock", "phone set-up", "account unlock by phone")
    for journey in journeys:
        assert f"\n{journey}\n" in out
    assert out.count("calls per later action: 1..") == len(journeys) and "interact, introspect, enroll" in out
    # A second call only for a click the person is spared: registration's one way to verify the
    # email (chosen for them), recovery once the identifier is known.
    assert "calls per later action: 1..2" in out and "submit profile               new, enroll" in out


def test_choosing_a_method_costs_no_call_and_its_details_one():
    """Issue 23: a method chosen on the list is our own page's business (no IDX call); its details
    (SMS and number) go with it in one call, the identifier typed on the unlock list too."""
    out = journey_bench()
    assert out.count("choosing a method on the list: 0..0 calls; its details: 1..1") == 2
    assert re.search(r"\n  choose phone +- ", out) and re.search(r"\n  send phone details +enroll ", out)
    assert re.search(r"\n  identifier, choose phone +- ", out) and re.search(r"\n  send sms details +challenge ", out)


def test_the_direct_mode_costs_fewer_identity_engine_calls_than_the_embedded_one():
    out = bench("direct_calls.py")
    calls = {
        (who, mode): int(n) for who, mode, n in re.findall(r"^(\w+)\s+(embedded|direct)\s+(\d+) Identity", out, re.M)
    }
    assert calls == {("alice", "embedded"): 5, ("carol", "embedded"): 6, ("alice", "direct"): 1, ("carol", "direct"): 3}
