"""What every benchmark stamps on its result file: the commit and the machine; and what the
benchmarks share: their command line, their result file's head and writing, medians and ratios."""
import os, platform, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))  # where ride and its tools are built


def parse_args(**options):
    """The benchmark's command line: one --NAME option per keyword, in the keywords' order (NAME
    with '-' for '_'), given as its default (of the option's type: int or float; a string is taken
    as it is) or as (type, default) or (type, default, help). Returns argparse's namespace."""
    import argparse
    ap = argparse.ArgumentParser()
    for name, spec in options.items():
        typ, default, *help_ = spec if isinstance(spec, tuple) else (type(spec), spec)
        kw = {} if typ is str else {"type": typ}
        if help_:
            kw["help"] = help_[0]
        ap.add_argument("--" + name.replace("_", "-"), default=default, **kw)
    return ap.parse_args()


def result_head(name, **after_machine):
    """The keys a result file starts with: benchmark (name), commit, machine, the keywords given
    (in order), date (UTC) and command (bench/NAME.py and this run's arguments)."""
    import sys, time
    return {"benchmark": name, "commit": commit(), "machine": machine(), **after_machine,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": f"bench/{name}.py " + " ".join(sys.argv[1:])}


def write_result(result, name=None):
    """Writes result as results/NAME.json (NAME: its benchmark when not given), indented by 2."""
    import json
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", (name or result["benchmark"]) + ".json"), "w") as fh:
        json.dump(result, fh, indent=2)


def write_comparison(name, job, runs, med, ratio_key, ratio):
    """For a benchmark that compares modes run by run: builds its result (result_head, job, runs,
    median: med, ratio_key: ratio), prints the medians and the ratios, and writes results/NAME.json."""
    import json
    out = {**result_head(name), "job": job, "runs": runs, "median": med, ratio_key: ratio}
    print(json.dumps(med), json.dumps(ratio))
    write_result(out)


def ride_mpirun(np_, args, summary, tmp, timeout, label):
    """Runs scripts/ride-mpirun --oversubscribe -np NP -- ARGS (RIDE = BUILD's ride, TMPDIR = tmp)
    for timeout s at the most; exits with label, its exit code and its output's tail when it fails.
    Returns the summary (the JSON at summary) and the command run."""
    import json, sys
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(np_), "--"] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, RIDE=os.path.join(BUILD, "ride"), TMPDIR=tmp))
    if p.returncode != 0:
        sys.exit(f"{label} exited {p.returncode}:\n{p.stdout[-3000:]}")
    return json.load(open(summary)), cmd


def medians(runs, keys, per_frame=None):
    """Each mode's median of every key over its runs: {mode: [row, ...]} -> {mode: {key: median}}.
    per_frame = (name, cpu_key, frames_key) adds name: the milliseconds of cpu_key per frame of
    frames_key (1 at the least), to 3 places."""
    import statistics
    med = {m: {k: statistics.median(r[k] for r in rows) for k in keys} for m, rows in runs.items()}
    if per_frame:
        name, cpu, frames = per_frame
        for m in med:
            med[m][name] = round(1000 * med[m][cpu] / max(1, med[m][frames]), 3)
    return med


def ratios(med, over, under, keys):
    """{key: med[over][key] / med[under][key], to 3 places} for every key, in order."""
    return {k: round(med[over][k] / med[under][k], 3) for k in keys}


def cuda_devices():
    """CUDA devices the ride binary sees ('ride version': 'cuda: compiled, N device(s)'), and that
    line: (0, why) when ride was built without CUDA or sees no device."""
    import re
    out = subprocess.run([os.path.join(BUILD, "ride"), "version"], capture_output=True, text=True).stdout
    m = re.search(r"cuda: (compiled|not compiled), (\d+) device\(s\)", out)
    if not m:
        return 0, out.strip().replace("\n", "; ")
    return (int(m.group(2)) if m.group(1) == "compiled" else 0), m.group(0)


def commit():
    try:
        return subprocess.check_output(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                                       cwd=ROOT, text=True).strip()
    except Exception:
        return "unknown"


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": cpu,
            "kernel": platform.release(),
            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


class CameraServer:
    """tests/integration/snapshot_cameras.py on a free port of 127.0.0.1 for the camera benchmarks
    (JPEG snapshots at /cam/N.jpg, MJPEG streams at /mjpeg/N), stopped on exit:

        with CameraServer(tmp, cameras=1000, width=160, height=120) as cams:
            csv = cams.camera_list(fps=lambda i: 1, kind="cam")
    """

    def __init__(self, tmp, cameras, width, height, slot_s=1.0, extra=()):
        import time
        self.tmp, self.cameras = tmp, cameras
        port_file = os.path.join(tmp, "port")
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "integration", "snapshot_cameras.py"),
                                      "--port-file", port_file, "--served", os.path.join(tmp, "served"),
                                      "--cameras", str(cameras), "--width", str(width), "--height", str(height),
                                      "--slot-s", str(slot_s)] + list(extra),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        self.port = open(port_file).read().strip()

    def camera_list(self, fps, kind="cam"):
        """Writes a camera list (id,url,fps) of every camera, `fps(i)` for camera i; returns its path."""
        path = os.path.join(self.tmp, "cameras.csv")
        with open(path, "w") as f:
            f.write("id,url,fps\n")
            for i in range(self.cameras):
                url = f"http://127.0.0.1:{self.port}/cam/{i}.jpg" if kind == "cam" else f"http://127.0.0.1:{self.port}/mjpeg/{i}"
                f.write(f"{i},{url},{fps(i)}\n")
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


def ride_camera_job(tmp, csv, duration, extra=()):
    """A ride job over a camera list for the camera benchmarks (camera_cpu, rtsp_cpu): 5 ranks (1
    broker, 1 ingest, 2 workers, no spare), no-op task, run for `duration` s. Exits when it fails;
    checks status ok, nothing lost or duplicated, every frame ingested processed. Returns the
    summary and the ingest ranks' CPU seconds (from START on)."""
    import json
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    summ = os.path.join(tmp, "s.json")
    cmd = [os.path.join(root, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "5", "--",
           "--ingest.source=video", f"--ingest.inputs=@{csv}", f"--ingest.duration_s={duration}",
           "--job.spares=0", "--task.name=noop", "--status.interval_s=30", "--summary", summ,
           f"--output.path={tmp}/r.h5"] + list(extra)
    build = os.environ.get("RIDE_BUILD_DIR", os.path.join(root, "build"))
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, RIDE=os.path.join(build, "ride")))
    if p.returncode != 0:
        raise SystemExit(f"ride run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    s = json.load(open(summ))
    f = s["frames"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
    return s, sum(r["cpu_s"] for r in s["ingest"]["ranks"])


def plot_caption(result, ranks):
    """The line every reproduction's plot carries (#16): which profile ran (bench/run sets
    RIDE_BENCH_PROFILE; a script run by hand is "standalone"), on what machine with how many cores,
    the rank layout, the device and the commit."""
    m = result.get("machine") or machine()
    return (f"{result.get('profile') or os.environ.get('RIDE_BENCH_PROFILE', 'standalone')} profile; "
            f"{result.get('device', 'cpu').upper()} on {m.get('host')} ({m.get('cpu_model')}, {m.get('cpus')} cores); "
            f"{ranks}; commit {result.get('commit') or commit()}")
