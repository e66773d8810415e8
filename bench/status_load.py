#!/usr/bin/python3
"""What watching a job costs it (#13): the same 900x900 std-dev job at full rate (stream mode, no
rate limit, backpressure from the brokers), run three ways, interleaved run by run so that the
machine's noise hits all three:
  off     status.listen = off (no HTTP server at all)
  served  the status server on (the default), nobody polling
  polled  the server polled by CLIENTS clients, each GET /status and GET /metrics at HZ, for the
          job's whole processing (bench/status/status_load_client.cpp: cpp-httplib keep-alive
          clients, so the load generator itself costs little of the 2 cores)
Every run is checked (status ok, nothing lost or duplicated, processed == ingested); the polled
runs must see no failed request. Reports the throughput ratios polled/served and served/off.
Writes results/status_load.json.

usage: bench/status_load.py [--repeat 3] [--frames 7500] [--clients 50] [--hz 10] [--quick]
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENT = os.path.join(ROOT, "build", "bench", "status", "status_load_client")


def run(arm, a, tmp):
    summ = os.path.join(tmp, "s.json")
    if os.path.exists(summ):
        os.remove(summ)
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "6", "--",
           "--ingest.width=900", "--ingest.height=900", "--ingest.streams=2", "--ingest.fps=1e6",
           f"--ingest.frames={a.frames}", "--broker.spill=false", "--broker.ring_mb=256",
           "--status.interval_s=30", "--summary", summ, f"--output.path={tmp}/r.h5"]
    if arm == "off":
        cmd.append("--status.listen=off")
    if arm == "polled":
        cmd.append("--status.linger_s=%g" % a.seconds)  # the clients never see the server vanish
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
    lines, load = [], {}

    def reader():
        for line in p.stdout:
            lines.append(line)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    if arm == "polled":
        url = None
        while url is None and p.poll() is None:
            for line in list(lines):
                m = re.search(r"\[ride\] status: (http://\S+/)", line)
                if m:
                    url = m.group(1)
            time.sleep(0.05)
        if url is None:
            sys.exit("bench: the job printed no status URL:\n" + "".join(lines))
        c = subprocess.run([CLIENT, url, str(a.clients), str(a.hz), str(a.seconds)], capture_output=True, text=True)
        load = json.loads(c.stdout)
    p.wait()
    t.join(5)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n" + "".join(lines))
    s = json.load(open(summ))
    f = s["frames"]
    ok = s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"]
    if not ok:
        sys.exit(f"bench: the {arm} run lost or duplicated frames: {f}")
    if load and load["failures"]:
        sys.exit(f"bench: {load['failures']} of {load['requests']} requests failed: {load['first_error']}")
    return s["throughput_fps"], s.get("elapsed_s", 0), load


def cpu_per_request(a, tmp):
    """The HTTP side alone: a job that has ended and lingers, its server polled as above for
    10 s; CPU seconds of the master process (its server threads: nothing else runs) and of the
    load generator, per request."""
    import resource
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "4", "--",
           "--ingest.duration_s=0.5", "--status.linger_s=20", f"--output.path={tmp}/q.h5"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
    url = pid = None
    for line in p.stdout:
        m = re.search(r"\[ride\]\s+0\s+master\s+\S+\s+(\d+)", line)
        if m:
            pid = int(m.group(1))
        m = re.search(r"serving its final status at (http://\S+/)", line)
        if m:
            url = m.group(1)
            break
    time.sleep(1.0)  # MPI_Finalize done: only the server runs in the master process

    def ticks():
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])

    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    c = subprocess.run([CLIENT, url, str(a.clients), str(a.hz), "10"], capture_output=True, text=True)
    t1, c1 = ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    load = json.loads(c.stdout)
    p.stdout.close()
    p.wait()
    n = load["requests"]
    return {"requests": n, "failures": load["failures"],
            "server_cpu_us_per_request": round(1e6 * (t1 - t0) / hz / n, 1),
            "client_cpu_us_per_request": round(1e6 * ((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)) / n, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, default=7500, help="per stream (2 streams)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--hz", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=30, help="how long the clients poll")
    ap.add_argument("--quick", action="store_true", help="1 repeat, 1,500 frames per stream, 8 s of polling")
    a = ap.parse_args()
    if a.quick:
        a.repeat, a.frames, a.seconds = 1, 1500, 8
    arms = ["off", "served", "polled"]
    res = {k: [] for k in arms}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat):
            for arm in arms:
                fps, elapsed, load = run(arm, a, tmp)
                res[arm].append(round(fps, 1))
                if load:
                    loads.append(load)
                print(f"run {i + 1} {arm}: {fps:.1f} frames/s over {elapsed:.1f} s"
                      + (f"; {load['requests']} requests, {load['failures']} failed, p50 {load['p50_ms']} ms, "
                         f"p99 {load['p99_ms']} ms" if load else ""), flush=True)
        http_cost = cpu_per_request(a, tmp)
    print(f"the HTTP side alone: server {http_cost['server_cpu_us_per_request']} us, load generator "
          f"{http_cost['client_cpu_us_per_request']} us of CPU per request", flush=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    out = {"benchmark": "status_load", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/status_load.py " + " ".join(sys.argv[1:]),
           "job": f"stream mode, 2 streams x {a.frames} frames of 900x900, std-dev, 6 ranks (2 workers), no rate limit",
           "load": f"{a.clients} clients x (GET /status + GET /metrics) at {a.hz} Hz for {a.seconds} s",
           "throughput_fps": res, "median_fps": med,
           "ratio_polled_over_served": round(med["polled"] / med["served"], 3),
           "ratio_served_over_off": round(med["served"] / med["off"], 3),
           "http_side_alone": http_cost,
           "machine_share_of_load": round((http_cost["server_cpu_us_per_request"] + http_cost["client_cpu_us_per_request"])
                                          * 2 * a.clients * a.hz / 1e6 / (os.cpu_count() or 1), 3),
           "machine_share_of_server": round(http_cost["server_cpu_us_per_request"] * 2 * a.clients * a.hz / 1e6
                                            / (os.cpu_count() or 1), 3),
           "requests": sum(l["requests"] for l in loads), "failed_requests": sum(l["failures"] for l in loads),
           "latency_ms": {"p50": [l["p50_ms"] for l in loads], "p99": [l["p99_ms"] for l in loads],
                          "max": [l["max_ms"] for l in loads]}}
    print(f"medians: off {med['off']:.1f}, served {med['served']:.1f}, polled {med['polled']:.1f} frames/s; "
          f"polled/served {out['ratio_polled_over_served']}, served/off {out['ratio_served_over_off']}; "
          f"{out['requests']} requests, {out['failed_requests']} failed")
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    json.dump(out, open(os.path.join(ROOT, "results", "status_load.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
