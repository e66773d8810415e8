#!/usr/bin/python3
"""Ingest CPU per camera-second for RTSP/H.264 cameras (#15): ride's ingest rank with the stream
pool (a reader thread per camera, ingest.stream_decoders single-threaded decoders shared by all),
the same rank with ingest.stream_decoders=0 (each camera through its own OpenCV/FFmpeg capture
thread, as before the pool), and the Python/OpenCV reader a user would write
(bench/peers/opencv_rtsp_reader.py: a thread per camera, grab() every frame, retrieve() the
sampled ones), interleaved run by run against the same GStreamer RTSP server
(tests/integration/rtsp_server.py: live H.264 test cameras on 127.0.0.1), RTSP over TCP, each
camera sampled at --fps.

An H.264 camera is decoded whole whatever the sampling rate, so the cost is the decoding; the
figures are CPU seconds of the reading process per camera per second and per frame decoded, its
threads at their most, and eta (achieved / desired sampling rate; ride's counts the ticks from
the job's start, so the seconds before a camera's first key frame count against it, the reader's
from after every camera opened). ride's CPU is its ingest process's from START on
(opening the cameras, decoding, publishing the samples to the broker); the reader's is its
process's after every camera opened. Every ride run is checked (status ok, nothing lost or
duplicated). The server encodes on the same machine, alike for every run. Writes
results/rtsp_cpu.json.

usage: bench/rtsp_cpu.py [--cameras 8] [--duration 20] [--repeat 2] [--size 320x240] [--rate 15] [--fps 2]
"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, medians, parse_args, ratios, ride_camera_job, write_comparison  # noqa: E402


def ride_run(tmp, csv, duration, cameras, extra=()):
    s, cpu = ride_camera_job(tmp, csv, duration, ["--ingest.rtsp_transport=tcp"] + list(extra))
    return {"cpu_s": round(cpu, 2), "eta": round(s["ingest"]["eta"], 4), "frames": s["frames"]["ingested"],
            "frames_read": sum(i["frames_read"] for i in s["inputs"]),
            "dropped_packets": sum(i.get("dropped_packets", 0) for i in s["inputs"]),
            "cameras_without_frames": sum(1 for i in s["inputs"] if i["frames_published"] == 0),
            "threads": s["ingest"]["threads"], "cpu_s_per_camera_s": cpu / cameras / duration}


def reader_run(csv, duration, cameras):
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "peers", "opencv_rtsp_reader.py"), csv,
                        "--duration", str(duration)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"reader failed ({p.returncode}):\n{p.stderr[-3000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["errors"] == 0, r
    return {"cpu_s": round(r["cpu_s"], 2), "eta": round(r["eta"], 4), "frames": r["frames"], "frames_read": r["read"],
            "threads": r["threads"], "cpu_s_per_camera_s": r["cpu_s"] / cameras / duration}


def main():
    a = parse_args(cameras=8, duration=(float, 20), repeat=2, size="320x240",
                   rate=(int, 15, "the cameras' own frame rate"),
                   fps=(float, 2, "the desired (sampling) rate per camera"))
    w, h = a.size.split("x")
    modes = ("ride_pool", "ride_capture_thread_each", "python_opencv_thread_per_camera")
    res = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "integration", "rtsp_server.py"),
                                   str(a.cameras), w, h, str(a.rate)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        try:
            port = server.stdout.readline().strip()
            assert port, "the RTSP server did not start"
            csv = os.path.join(tmp, "cameras.csv")
            with open(csv, "w") as f:
                f.write("id,url,fps\n")
                for i in range(a.cameras):
                    f.write(f"{i},rtsp://127.0.0.1:{port}/cam{i},{a.fps}\n")
            for i in range(a.repeat):
                for m in modes:
                    if m == "ride_pool":
                        row = ride_run(tmp, csv, a.duration, a.cameras, ["--ingest.stream_decoders=2"])
                    elif m == "ride_capture_thread_each":
                        row = ride_run(tmp, csv, a.duration, a.cameras, ["--ingest.stream_decoders=0"])
                    else:
                        row = reader_run(csv, a.duration, a.cameras)
                    res[m].append(row)
                    print(f"run {i + 1} {m}: {row}", flush=True)
        finally:
            server.terminate()
            server.wait()
    # per decoded frame too: a reader that opens late or falls behind decodes less
    med = medians(res, ("cpu_s", "eta", "frames", "frames_read", "threads", "cpu_s_per_camera_s"),
                  per_frame=("cpu_ms_per_frame_read", "cpu_s", "frames_read"))
    over = {f"ride_pool_over_{p}": ratios(med, "ride_pool", p, ("cpu_s_per_camera_s", "cpu_ms_per_frame_read", "eta",
                                                                "threads"))
            for p in modes[1:]}
    write_comparison("rtsp_cpu", f"{a.cameras} RTSP/H.264 cameras ({a.size} at {a.rate} fps, GStreamer's RTSP server "
                     f"with x264 on 127.0.0.1, over TCP) sampled at {a.fps} fps each for {a.duration} s, gray; ride: "
                     f"5 ranks (1 broker, 1 ingest, 2 workers), no-op task", res, med, "ratios", over)


if __name__ == "__main__":
    main()
