"""Does a scenario's cost depend on where the process's code and data live?

Starts P processes of benches/instructions.rs (ASLR gives each its own addresses) and
drives their rounds interleaved: round r of every process runs before round r + 1 of
any, one process at a time, so every process samples the same moments of the machine
(a shared core slows whole stretches of seconds: BENCHMARKS.md, section 0). Each round
is bracketed by two contention probes; only rounds whose slower probe is within 8% of
the best probe seen count. Prints each process's fastest counted round and max / min.

NO_ASLR=1 runs every process with address randomization off (`setarch -R`): the same
addresses in all of them, the control for what the spread owes to addresses.

Usage: python3 scripts/spread.py BIN SCENARIO P R N
"""
import os
import platform
import subprocess
import sys

binary, scenario, processes, rounds, n = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
env = dict(os.environ, ROUNDS=str(rounds), STEP="1", BRACKET="1")
command = [binary, scenario, str(n)]
if os.environ.get("NO_ASLR"):
    command = ["setarch", platform.machine(), "-R"] + command
children = [
    subprocess.Popen(command, env=env, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True, bufsize=1)
    for _ in range(processes)
]
samples = [[] for _ in children]
for _ in range(rounds):
    for child, mine in zip(children, samples):
        child.stdin.write("\n")
        child.stdin.flush()
        probe, ns = child.stdout.readline().split()[:2]
        mine.append((float(probe), float(ns)))
for child in children:
    child.stdin.close()
    child.wait()
best = min(probe for mine in samples for probe, _ in mine)
minima = []
for p, mine in enumerate(samples, 1):
    counted = [ns for probe, ns in mine if probe <= best * 1.08]
    if counted:
        minima.append(min(counted))
        print(f"process {p:2d}: {min(counted):.1f} ns ({len(counted)} of {rounds} rounds counted)")
    else:
        print(f"process {p:2d}: no uncontended round")
if os.environ.get("DUMP"):
    slowest = max((min((ns for probe, ns in mine if probe <= best * 1.08), default=0), p)
                  for p, mine in enumerate(samples))[1]
    fastest = min((min((ns for probe, ns in mine if probe <= best * 1.08), default=1e9), p)
                  for p, mine in enumerate(samples))[1]
    for p in (slowest, fastest):
        print(f"process {p + 1}:", " ".join(f"{probe:.2f}/{ns:.0f}" for probe, ns in samples[p]))
minima.sort()
print(f"{len(minima)} of {processes} processes had uncontended rounds: min {minima[0]:.1f} ns, "
      f"median {minima[(len(minima) - 1) // 2]:.1f} ns, max {minima[-1]:.1f} ns, "
      f"max/min {minima[-1] / minima[0]:.3f}")
