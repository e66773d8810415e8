#!/usr/bin/env python3
"""What sampling live cameras costs: ride's ingest beside the OpenCV loop a user would write.

CAM² samples each camera at a "desired frame rate" far below what the camera sends (0.2-1 fps of
a 25-30 fps stream). Here CAMERAS MJPEG-over-HTTP cameras (640x480, 30 fps, `ffmpeg -re` on
127.0.0.1, one server per camera and run) are sampled at --fps for --seconds, side by side in
ONE run:
  ride    a job with ingest.source = video (4 ranks, no-op task, stream mode): the ingest rank's
          capture threads read every frame as a JPEG packet and decode only the sampled ones
          (other codecs: decode all, convert the sampled); its CPU seconds from START (the whole
          process, `cpu_s` in the summary) per camera-second
  opencv  bench/peers/video_decode_peer --live: per camera a thread that read()s every frame
          (decode + BGR conversion) and keeps the newest as gray, sampled at the same rate: its
          process CPU seconds per camera-second
Both must take about fps x seconds samples per camera. Medians of --repeat runs; writes
results/live_sampling.{json,md} stamped with commit and machine.

usage: bench/live_sampling.py [--repeat 3] [--cameras 2] [--fps 1] [--seconds 8]
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, ROOT, commit, machine, parse_args  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def serve(n, seconds):
    """n cameras, each one client, for `seconds`; returns (urls, processes)."""
    urls, procs = [], []
    for k in range(n):
        url = f"http://127.0.0.1:{free_port()}/cam{k}.mjpg"
        procs.append(subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi", "-i",
             "testsrc2=size=640x480:rate=30", "-t", str(seconds), "-c:v", "mjpeg", "-q:v", "5",
             "-f", "mpjpeg", "-listen", "1", url]))
        urls.append(url)
    time.sleep(0.5)
    return urls, procs


def stop(procs):
    for p in procs:
        p.kill()
        p.wait()


def ride_run(tmp, urls, fps, seconds):
    summary = os.path.join(tmp, "s.json")
    p = subprocess.run([os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "4", "--",
                        "--summary", summary, f"--output.path={os.path.join(tmp, 'r.h5')}",
                        "--status.interval_s=30", "--task.name=noop", "--ingest.source=video",
                        "--ingest.inputs=" + ",".join(urls), f"--ingest.fps={fps}",
                        f"--ingest.duration_s={seconds}"],
                       capture_output=True, text=True, env=dict(os.environ, RIDE=os.path.join(BUILD, "ride")))
    if p.returncode != 0:
        sys.exit(f"bench: ride failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    s = json.load(open(summary))
    f = s["frames"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["processed"] == f["ingested"], f
    cpu = sum(i["cpu_s"] for i in s["ingest"]["ranks"])
    read = sum(i["frames_read"] for i in s["inputs"])
    return f["ingested"], read, cpu


def peer_run(urls, fps, seconds):
    out = subprocess.run([os.path.join(BUILD, "bench", "peers", "video_decode_peer"), "--live", str(fps),
                          str(seconds)] + urls, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench: video_decode_peer failed: {out.stderr[-2000:]}")
    j = json.loads(out.stdout)
    return j["frames"], j["read"], j["cpu_s"]


def main():
    a = parse_args(repeat=3, cameras=2, fps=1.0, seconds=8.0)
    cam_s = a.cameras * a.seconds
    ride_cpu, peer_cpu, runs = [], [], []
    with tempfile.TemporaryDirectory(prefix="ride-live-bench.") as tmp:
        for _ in range(a.repeat):  # interleaved, so drift hits both alike
            urls, procs = serve(a.cameras, a.seconds + 30)
            try:
                rn, rread, rc = ride_run(tmp, urls, a.fps, a.seconds)
            finally:
                stop(procs)
            urls, procs = serve(a.cameras, a.seconds + 30)
            try:
                pn, pread, pc = peer_run(urls, a.fps, a.seconds)
            finally:
                stop(procs)
            runs.append({"ride": {"samples": rn, "read": rread, "cpu_s": rc},
                         "opencv": {"samples": pn, "read": pread, "cpu_s": pc}})
            ride_cpu.append(rc / cam_s)
            peer_cpu.append(pc / cam_s)
            print(f"ride: {rn} samples of {rread} frames read, {rc:.2f} CPU s; "
                  f"opencv loop: {pn} samples of {pread} read, {pc:.2f} CPU s")
    r = {"cameras": a.cameras, "camera": "MJPEG 640x480 30 fps over HTTP", "sample_fps": a.fps,
         "seconds": a.seconds, "ride_cpu_per_camera_s": statistics.median(ride_cpu),
         "opencv_cpu_per_camera_s": statistics.median(peer_cpu), "runs": runs}
    r["ratio_ride_vs_opencv"] = r["ride_cpu_per_camera_s"] / r["opencv_cpu_per_camera_s"]
    out = {"benchmark": "live_sampling", "command": "python3 bench/live_sampling.py " + " ".join(sys.argv[1:]),
           "commit": commit(), "machine": machine(), "repeat": a.repeat, "result": r}
    with open(os.path.join(ROOT, "results", "live_sampling.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    with open(os.path.join(ROOT, "results", "live_sampling.md"), "w") as fh:
        fh.write(f"# Sampling live cameras (`{out['command']}`)\n\ncommit {out['commit']}, "
                 f"{out['machine']['cpus']} CPUs ({out['machine']['cpu_model']}), medians of {a.repeat}\n\n"
                 f"{a.cameras} cameras ({r['camera']}) sampled at {a.fps} fps for {a.seconds} s.\n\n"
                 "| | CPU seconds per camera-second | ride / OpenCV loop |\n|---|---|---|\n"
                 f"| ride ingest (MJPEG packets read, sampled ones decoded) | {r['ride_cpu_per_camera_s']:.3f} | "
                 f"{r['ratio_ride_vs_opencv']:.2f} |\n"
                 f"| OpenCV loop (read all, keep newest) | {r['opencv_cpu_per_camera_s']:.3f} | 1 |\n")
    print(f"ride {r['ride_cpu_per_camera_s']:.3f} vs opencv {r['opencv_cpu_per_camera_s']:.3f} CPU s per camera-second:"
          f" ratio {r['ratio_ride_vs_opencv']:.2f}")


if __name__ == "__main__":
    main()
