#!/usr/bin/env python3
"""Real-input throughput: ride reading video files (ingest.source = video) beside FFmpeg alone.

For each codec (MJPEG, H.264) at 640x480, two files of FRAMES frames each, in ONE run:
  ride   batch mode, 4 ranks (master, broker, ingest, worker), no-op task: the ingest rank's two
         capture threads decode both files with OpenCV's FFmpeg backend, convert to gray and
         publish every frame; the worker takes each one and its result is stored. Reported:
         ingested frames / ingest_s (how fast ride turns files into frames in the topic), and
         frames / elapsed_s end to end.
  opencv the peer a user would write: bench/peers/video_decode_peer, one thread per file,
         cv::VideoCapture (the same OpenCV FFmpeg backend) + cvtColor to gray, nothing else.
  ffmpeg the decode bound: two `ffmpeg -i FILE -pix_fmt gray -f null -` processes at once (the
         same libavcodec decoders, straight to gray without OpenCV's YUV->BGR step).
Each figure is the median of --repeat runs. Writes results/video_ingest.{json,md} stamped with
commit and machine.

usage: bench/video_ingest.py [--repeat 3] [--frames 600]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))
CODECS = [("mjpeg", ["-c:v", "mjpeg", "-q:v", "5"], "avi"), ("h264", ["-c:v", "libx264", "-preset", "fast", "-g", "30"], "mp4")]


def sh(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout


def ride_run(tmp, files):
    summary = os.path.join(tmp, "s.json")
    sh([os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "4", "--",
        "--summary", summary, f"--output.path={os.path.join(tmp, 'r.h5')}", "--status.interval_s=30",
        "--task.name=noop", "--job.mode=batch", "--ingest.source=video", "--ingest.inputs=" + ",".join(files)],
       env=dict(os.environ, RIDE=os.path.join(BUILD, "ride")))
    s = json.load(open(summary))
    f = s["frames"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["processed"] == f["ingested"], f
    return f["ingested"], s["ingest_s"], s["elapsed_s"]


def opencv_run(files):
    out = sh([os.path.join(BUILD, "bench", "peers", "video_decode_peer")] + files)
    return json.loads(out)["fps"]


def ffmpeg_run(files):
    t0 = time.perf_counter()
    procs = [subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", f,
                               "-pix_fmt", "gray", "-f", "null", "-"]) for f in files]
    for p in procs:
        if p.wait() != 0:
            sys.exit("bench: ffmpeg decode failed")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, default=600)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ride-video-bench.") as tmp:
        for codec, enc, ext in CODECS:
            files = []
            for k, src in enumerate(["testsrc", "testsrc2"]):
                path = os.path.join(tmp, f"{codec}_{k}.{ext}")
                sh(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    f"{src}=size=640x480:rate=30", "-frames:v", str(a.frames)] + enc + [path])
                files.append(path)
            ride_ingest, ride_e2e, peer, opencv = [], [], [], []
            for _ in range(a.repeat):  # interleaved, so drift hits both alike
                n, ingest_s, elapsed_s = ride_run(tmp, files)
                assert n == 2 * a.frames, n
                ride_ingest.append(n / ingest_s)
                ride_e2e.append(n / elapsed_s)
                peer.append(2 * a.frames / ffmpeg_run(files))
                opencv.append(opencv_run(files))
            r = {"codec": codec, "size": "640x480", "files": 2, "frames": 2 * a.frames,
                 "ride_ingest_fps": statistics.median(ride_ingest), "ride_end_to_end_fps": statistics.median(ride_e2e),
                 "opencv_decode_fps": statistics.median(opencv), "ffmpeg_decode_fps": statistics.median(peer),
                 "runs": {"ride_ingest": ride_ingest, "ride_end_to_end": ride_e2e, "opencv": opencv, "ffmpeg": peer}}
            r["ratio_ingest_vs_opencv"] = r["ride_ingest_fps"] / r["opencv_decode_fps"]
            r["ratio_ingest_vs_ffmpeg"] = r["ride_ingest_fps"] / r["ffmpeg_decode_fps"]
            rows.append(r)
            print(f"{codec}: ride ingest {r['ride_ingest_fps']:.0f} fps, end to end {r['ride_end_to_end_fps']:.0f} fps;"
                  f" opencv loop {r['opencv_decode_fps']:.0f} fps (ratio {r['ratio_ingest_vs_opencv']:.2f});"
                  f" ffmpeg decode {r['ffmpeg_decode_fps']:.0f} fps (ratio {r['ratio_ingest_vs_ffmpeg']:.2f})")
    out = {"benchmark": "video_ingest", "command": "python3 bench/video_ingest.py " + " ".join(sys.argv[1:]),
           "commit": commit(), "machine": machine(), "repeat": a.repeat, "rows": rows}
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", "video_ingest.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    with open(os.path.join(ROOT, "results", "video_ingest.md"), "w") as fh:
        fh.write(f"# Real-input throughput (`{out['command']}`)\n\ncommit {out['commit']}, "
                 f"{out['machine']['cpus']} CPUs ({out['machine']['cpu_model']}), medians of {a.repeat}\n\n"
                 "| codec | 640x480 frames | ride ingest fps | ride end-to-end fps | OpenCV loop fps | ffmpeg to gray fps "
                 "| ride ingest / OpenCV | ride ingest / ffmpeg |\n|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            fh.write(f"| {r['codec']} | {r['frames']} | {r['ride_ingest_fps']:.0f} | {r['ride_end_to_end_fps']:.0f} | "
                     f"{r['opencv_decode_fps']:.0f} | {r['ffmpeg_decode_fps']:.0f} | {r['ratio_ingest_vs_opencv']:.2f} | "
                     f"{r['ratio_ingest_vs_ffmpeg']:.2f} |\n")


if __name__ == "__main__":
    main()
