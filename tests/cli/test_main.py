#!/usr/bin/python3
"""The `ride` command line (src/cli/main.cpp) as users meet it: exit codes and the key phrases of
stdout and stderr.

  test_main.py commands RIDE WORKDIR          subcommands that start no MPI (label unit)
  test_main.py run RIDE LAUNCHER WORKDIR      `ride run` configuration errors, one rank under
                                              scripts/ride-mpirun (label mpi)

The run cases are the ones tests/integration/bad_config.sh does not already cover (there: an
unknown key in a file, a bad value on the command line, task and topology errors)."""
import os
import re
import subprocess
import sys

failures = []


def check(name, argv, rc, stdout=(), stderr=(), not_stderr=(), env=None, timeout=60):
    """Runs argv; expects exit code rc and every regex of stdout/stderr to match."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: still running after {timeout} s")
        return
    problems = []
    if p.returncode != rc:
        problems.append(f"exit code {p.returncode}, expected {rc}")
    for want in stdout:
        if not re.search(want, p.stdout, re.M):
            problems.append(f"stdout does not match {want!r}")
    for want in stderr:
        if not re.search(want, p.stderr, re.M):
            problems.append(f"stderr does not match {want!r}")
    for bad in not_stderr:
        if re.search(bad, p.stderr, re.M):
            problems.append(f"stderr matches {bad!r}")
    if problems:
        failures.append(f"{name}: " + "; ".join(problems) +
                        f"\n  argv: {argv}\n  stdout: {p.stdout[-1500:]!r}\n  stderr: {p.stderr[-1500:]!r}")
    else:
        print(f"ok   {name}")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


USAGE = r"^usage: ride <command> \[options\]"
COMMANDS = [r"^  run \[--config FILE\]", r"^  profile --task NAME", r"^  plan --requirements CSV",
            r"^  tasks ", r"^  version "]


def commands(ride, work):
    # No command: the usage, and a usage error's exit code.
    check("no arguments", [ride], 2, stdout=[USAGE] + COMMANDS)
    for flag in ("--help", "-h"):
        check(f"ride {flag}", [ride, flag], 0, stdout=[USAGE] + COMMANDS)
    for v in ("version", "--version"):
        check(f"ride {v}", [ride, v], 0,
              stdout=[r"^ride \d+\.\d+\.\d+ \(\S+\)$", r"^cuda: (compiled|not compiled), \d+ device\(s\)$",
                      r"^video inputs: module \S*libride_video\.so"])
    # An unknown command or option: named, then the usage, on stderr.
    check("unknown command", [ride, "frobnicate"], 2,
          stderr=[r"^ride: unknown command 'frobnicate'$", USAGE])
    check("unknown option", [ride, "--frobnicate"], 2,
          stderr=[r"^ride: unknown command '--frobnicate'$", USAGE])

    # ride run --help: every key, and no MPI needed for it.
    check("ride run --help", [ride, "run", "--help"], 0,
          stdout=[r"ingest\.fps", r"worker\.device", r"job\.workers"])

    # ride tasks reads the job's configuration without MPI: its errors name the key and where.
    check("ride tasks", [ride, "tasks"], 0, stdout=[r"stddev", r"hessian"])
    check("ride tasks --help", [ride, "tasks", "--help"], 0, stdout=[r"^usage: ride tasks"])
    bad = write(os.path.join(work, "tasks_bad_value.ini"), "[ingest]\nstreams = 2\nfps = fast\n")
    check("ride tasks: a bad value in a file", [ride, "tasks", "--config", bad], 2,
          stderr=[rf"^ride: configuration error: bad value 'fast' for key 'ingest\.fps' at {re.escape(bad)}:3: expected"])
    check("ride tasks: an unknown key on the command line", [ride, "tasks", "--ingest.fsp=3"], 2,
          stderr=[r"^ride: configuration error: unknown key 'ingest\.fsp' on the command line"])
    check("ride tasks: a missing task library", [ride, "tasks", "--task.library=/nonexistent/libx.so"], 2,
          stderr=[r"configuration error: .*'/nonexistent/libx\.so'"])

    # ride plan: usage errors before any file is read.
    check("ride plan --help", [ride, "plan", "--help"], 0, stdout=[r"^usage: ride plan --requirements"])
    check("ride plan without arguments", [ride, "plan"], 2, stderr=[r"^ride plan: --requirements and --scenario are required$", r"^usage: ride plan"])
    check("ride plan: an unknown argument", [ride, "plan", "--frobnicate"], 2, stderr=[r"^ride plan: unknown argument '--frobnicate'$", r"^usage: ride plan"])
    check("ride plan: an option without its value", [ride, "plan", "--scenario", "s.csv", "--requirements"], 2, stderr=[r"^ride plan: --requirements needs a value$"])
    check("ride plan: a number that is not one", [ride, "plan", "--requirements", "r.csv", "--scenario", "s.csv", "--target-util=lots"], 2, stderr=[r"^ride plan: --target-util: 'lots' is not a number"])
    check("ride plan: an unreadable requirements file", [ride, "plan", "--requirements", os.path.join(work, "missing.csv"), "--scenario", "s.csv"], 2, stderr=[r"^ride plan: .*missing\.csv"])

    # ride profile: usage errors before any job is launched.
    check("ride profile --help", [ride, "profile", "--help"], 0, stdout=[r"^usage: ride profile --task NAME"])
    check("ride profile without --task", [ride, "profile"], 2, stderr=[r"^ride profile: --task is required"])
    check("ride profile: an option without its value", [ride, "profile", "--task"], 2, stderr=[r"^ride profile: --task needs a value"])
    check("ride profile: an unknown option", [ride, "profile", "--task", "stddev", "--frobnicate", "1"], 2, stderr=[r"^ride profile: unknown option '--frobnicate'"])
    check("ride profile: too few ranks", [ride, "profile", "--task", "stddev", "--np", "3"], 2, stderr=[r"^ride profile: --np: at least 4 ranks"])
    check("ride profile: one frame rate cannot fit a line", [ride, "profile", "--task", "stddev", "--fps", "5,5"], 2, stderr=[r"^ride profile: --fps: at least two different frame rates"])
    check("ride profile: a size that is not a number", [ride, "profile", "--task", "stddev", "--width=wide"], 2, stderr=[r"^ride profile: --width: expected a positive number, got 'wide'"])


def run(ride, launcher, work):
    """ride run's configuration errors: exit code 2 through the launcher (rank 0's exit file) and
    a message naming the key and the file:line it came from. One rank is enough: that the
    message comes once from several ranks is bad_config.sh's check."""
    env = {"RIDE": ride}

    def ride_run(name, args, want):
        check(f"ride run: {name}", [launcher, "--oversubscribe", "-np", "1", "--"] + args, 2, stderr=[r"^ride: configuration error: " + want], env=env, timeout=90)

    f = write(os.path.join(work, "bad_value.ini"), "# a value that is not a number\n[ingest]\nstreams = 2\nfps = fast\n")
    ride_run("a bad value in a file", ["--config", f], rf"bad value 'fast' for key 'ingest\.fps' at {re.escape(f)}:4: expected a number")
    f = write(os.path.join(work, "twice.ini"), "[ingest]\nfps = 10\nstreams = 2\n\n[ingest]\nfps = 20\n")
    ride_run("a key set twice in a file", ["--config", f], rf"key 'ingest\.fps' set twice: {re.escape(f)}:2 and {re.escape(f)}:6")
    f = write(os.path.join(work, "bad_device.ini"), "[worker]\ndevice = tpu\n")
    ride_run("a value the checks refuse, from a file", ["--config", f], rf"bad value for 'worker\.device' \({re.escape(f)}:2\): expected cpu, gpu or auto")
    f = write(os.path.join(work, "no_equals.ini"), "[ingest]\nstreams 2\n")
    ride_run("a line that is not key = value", ["--config", f], rf"{re.escape(f)}:2: expected 'key = value', got 'streams 2'")
    f = write(os.path.join(work, "no_section.ini"), "# no section yet\nfps = 5\n")
    ride_run("a key outside any section", ["--config", f], rf"{re.escape(f)}:2: key 'fps' outside any \[section\]")
    missing = os.path.join(work, "missing.ini")
    ride_run("a config file that is not there", ["--config", missing], rf"cannot read config file '{re.escape(missing)}'")
    ride_run("an unknown key on the command line", ["--ingest.fsp=30"], r"unknown key 'ingest\.fsp' on the command line")
    ride_run("an argument that is not a key", ["stray"], r"unexpected argument 'stray' on the command line")


def main():
    mode = sys.argv[1]
    if mode == "commands":
        ride, work = sys.argv[2:4]
    else:
        ride, launcher, work = sys.argv[2:5]
    os.makedirs(work, exist_ok=True)
    if mode == "commands":
        commands(ride, work)
    else:
        run(ride, launcher, work)
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
