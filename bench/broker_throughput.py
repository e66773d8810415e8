#!/usr/bin/env python3
"""End-to-end frame throughput of ride's broker path, side by side with its bounds and a peer.

For frames of 4 KB (64x64 u8), 16 KB (128x128), 64 KB (256x256), 810 KB (900x900) and 6.25 MB
(2500x2500), in ONE run:
  ride     ingest -> broker -> worker with the no-op task (4 ranks: master, broker, ingest,
           worker; each frame generated, moved twice between processes, checksummed, its result
           stored), stream mode with no frame-rate limit, a 256 MB ring with spill off
           (backpressure paces ingest, as the peer's 256 MB window paces its producer); with the
           defaults (small frames several to a message: ingest.batch_kb, worker.batch_kb,
           broker.fetch_batch_kb) and, interleaved, with batching off (one frame per message)
  memcpy   single-core memcpy bandwidth at the same frame size (the physical bound)
  redis    Redis Streams on 127.0.0.1 (XADD / XREADGROUP / XACK+XDEL, verified), the peer a user
           would otherwise pick
and the spill path: batch mode with an 8 MB ring, so all but a few frames go to HDF5 while ingest
runs, against the disk's sequential write bandwidth (bench_peers disk) in the same directory.
Each figure is the median of --repeat runs. Writes results/broker_throughput.{json,csv} stamped
with commit and machine. Metric definitions: bench/METRICS.md.

usage: bench/broker_throughput.py [--repeat 3] [--quick] [--sizes 64KB,...]
(--sizes: only those frame sizes and no spill row, written to results/broker_throughput_<sizes>.json)
"""
import argparse, csv, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))
PEERS = os.path.join(BUILD, "bench", "peers", "bench_peers")
SIZES = [("4KB", 64, 64), ("16KB", 128, 128), ("64KB", 256, 256), ("810KB", 900, 900), ("6.25MB", 2500, 2500)]
# Enough frames for ~2 s per run at the rates seen here.
RIDE_FRAMES = {"4KB": 200000, "16KB": 100000, "64KB": 40000, "810KB": 8000, "6.25MB": 800}
REDIS_FRAMES = {"4KB": 60000, "16KB": 50000, "64KB": 30000, "810KB": 3000, "6.25MB": 240}
UNBATCHED = ["--ingest.batch_kb=0", "--worker.batch_kb=0", "--broker.fetch_batch_kb=0"]
HEADERS = 48  # ProduceHeader + FrameHeader in front of each frame's pixels (core/protocol.h kPixelsAt)


def sh(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout


def ride_run(tmp, np, args):
    summary = os.path.join(tmp, "s.json")
    sh([os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(np), "--",
        "--summary", summary, f"--output.path={os.path.join(tmp, 'r.h5')}",
        "--status.interval_s=30", "--task.name=noop"] + args,
       env=dict(os.environ, RIDE=os.path.join(BUILD, "ride")))
    s = json.load(open(summary))
    f = s["frames"]
    # A benchmark checks what it timed: every frame exactly once.
    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 \
        and f["processed"] == f["ingested"], f
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, fewer frames")
    ap.add_argument("--sizes", default="", help="comma-separated subset of " + ",".join(n for n, _, _ in SIZES))
    a = ap.parse_args()
    reps = 1 if a.quick else a.repeat
    scale = 0.25 if a.quick else 1.0
    for tool in ("redis-server", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found (scripts/setup.sh installs it)")
    rows, spill = [], {}
    with tempfile.TemporaryDirectory(prefix="ride-bench-") as tmp:
        port = "16399"
        pid = sh([os.path.join(ROOT, "bench", "peers", "run_redis.sh"), port, tmp]).strip()
        try:
            wanted = set(a.sizes.split(",")) if a.sizes else None
            for name, w, h in SIZES:
                if wanted is not None and name not in wanted:
                    continue
                nbytes = w * h
                frames = max(50, int(RIDE_FRAMES[name] * scale))
                # A bounded in-memory buffer with backpressure, like the peer's (Redis keeps at
                # most a 256 MB window here): an unthrottled producer then runs at the pace of
                # the consumer instead of filling the ring and paying for spill on 2 cores.
                args = [f"--ingest.width={w}", f"--ingest.height={h}", "--ingest.streams=1", "--ingest.fps=1e6",
                        f"--ingest.frames={frames}", "--broker.spill=false", "--broker.ring_mb=256"]
                rfps, ufps = [], []
                for _ in range(reps):  # batched (the defaults) and one frame per message, interleaved
                    rfps.append(ride_run(tmp, 4, args)["throughput_fps"])
                    ufps.append(ride_run(tmp, 4, args + UNBATCHED)["throughput_fps"])
                mc = [json.loads(sh([PEERS, "memcpy", "--bytes", str(nbytes), "--seconds", "1"]))["GBps"]
                      for _ in range(reps)]
                rk = max(50, int(REDIS_FRAMES[name] * scale))
                rd = [json.loads(sh([PEERS, "redis", "--bytes", str(nbytes), "--frames", str(rk),
                                     "--port", port]))["frames_per_s"] for _ in range(reps)]
                ride_fps, unbatched_fps, memcpy_gbps, redis_fps = map(statistics.median, (rfps, ufps, mc, rd))
                ride_mbps = ride_fps * nbytes / 1e6
                rows.append({
                    "frame": name, "bytes": nbytes,
                    "ride_fps": round(ride_fps, 1), "ride_MBps": round(ride_mbps, 1),
                    "ride_unbatched_fps": round(unbatched_fps, 1),
                    "batching_gain": round(ride_fps / unbatched_fps, 2),
                    "redis_fps": round(redis_fps, 1), "redis_MBps": round(redis_fps * nbytes / 1e6, 1),
                    "memcpy_GBps": round(memcpy_gbps, 2),
                    "ride_vs_redis": round(ride_fps / redis_fps, 2),
                    "ride_vs_memcpy": round(ride_mbps / (memcpy_gbps * 1000), 3),
                    "ride_fps_runs": [round(x, 1) for x in rfps],
                    "ride_unbatched_fps_runs": [round(x, 1) for x in ufps],
                    "redis_fps_runs": [round(x, 1) for x in rd]})
                print(f"{name:7} ride {ride_fps:9.1f} fps {ride_mbps:8.1f} MB/s (unbatched {unbatched_fps:9.1f})"
                      f" | redis {redis_fps:9.1f} fps"
                      f" | memcpy {memcpy_gbps:6.2f} GB/s | ride/redis {ride_fps / redis_fps:5.2f}x"
                      f" | ride/memcpy {100 * ride_mbps / (memcpy_gbps * 1000):5.1f} %", flush=True)
        finally:
            subprocess.run([os.path.join(ROOT, "bench", "peers", "stop_redis.sh"), pid],
                           capture_output=True)

        # Spill path: batch mode stores every frame before processing; with an 8 MB ring nearly
        # all of them are written to HDF5 while ingest runs.
        if a.sizes:
            spill = None
        else:
            spill = spill_run(tmp, reps, scale)

    out = {"benchmark": "broker_throughput", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "repeat": reps,
           "command": "bench/broker_throughput.py " + " ".join(sys.argv[1:]),
           "ranks": "4 (master, broker, ingest, worker), oversubscribed on the cores above",
           "rows": rows, "spill": spill}
    stem = "broker_throughput" + ("_" + a.sizes.replace(",", "_") if a.sizes else "")
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", stem + ".json"), "w") as fh:
        json.dump(out, fh, indent=2)
    with open(os.path.join(ROOT, "results", stem + ".csv"), "w", newline="") as fh:
        cols = [k for k in rows[0] if not k.endswith("_runs")]
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def spill_run(tmp, reps, scale):
    """The spill path: 810 KB frames in batch mode through an 8 MB ring, against the disk."""
    spill_dir = os.path.join(tmp, "spill")
    os.makedirs(spill_dir)
    n = max(200, int(1500 * scale))
    disk = [json.loads(sh([PEERS, "disk", "--dir", spill_dir, "--mb", "1024"]))["MBps"]
            for _ in range(reps)]
    runs = []
    for _ in range(reps):
        s = ride_run(tmp, 4, ["--job.mode=batch", "--ingest.width=900", "--ingest.height=900",
                              "--ingest.streams=1", f"--ingest.frames={n}", "--broker.ring_mb=8",
                              f"--broker.spill_dir={spill_dir}", "--broker.spill_min_free_mb=1024"])
        spilled = sum(p["spilled_frames"] for b in s["brokers"] for p in b["partitions"])
        runs.append({"spilled_MB": spilled * (900 * 900 + HEADERS) / 1e6, "ingest_s": s["ingest_s"],
                     "spill_MBps": spilled * (900 * 900 + HEADERS) / 1e6 / s["ingest_s"],
                     "readback_fps": s["throughput_fps"]})
    spill = {"frames": n, "frame": "810KB", "ring_MB": 8,
             "spill_MBps": round(statistics.median(r["spill_MBps"] for r in runs), 1),
             "disk_write_MBps": round(statistics.median(disk), 1),
             "readback_fps": round(statistics.median(r["readback_fps"] for r in runs), 1),
             "runs": runs, "disk_runs": disk}
    spill["spill_vs_disk"] = round(spill["spill_MBps"] / spill["disk_write_MBps"], 3)
    print(f"spill   {spill['spill_MBps']:.1f} MB/s written while ingesting vs disk "
          f"{spill['disk_write_MBps']:.1f} MB/s ({100 * spill['spill_vs_disk']:.0f} %); read back and "
          f"processed at {spill['readback_fps']:.1f} fps", flush=True)
    return spill


if __name__ == "__main__":
    main()
