#!/usr/bin/python3
"""The RTSP camera reader a user would write in Python with OpenCV, ride's peer in
bench/rtsp_cpu.py: a thread per camera of a camera list (id,url,fps) that reads the stream
continuously with cv2.VideoCapture (FFmpeg backend, RTSP over TCP) and, when a sample is due at
the camera's desired rate, converts the newest frame to gray. The careful form: grab() decodes
every frame (H.264 needs them all), retrieve() converts only the sampled ones, as ride does. A
tick with no frame grabbed since the last sample is missed. Prints JSON: frames, ticks, eta, the
process's CPU seconds over the run (after every camera opened), threads at their most.

usage: opencv_rtsp_reader.py CSV --duration S
"""
import argparse, csv, json, os, resource, threading, time

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
import cv2  # noqa: E402


def cpu_s():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def threads_now():
    return len(os.listdir("/proc/self/task"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--duration", type=float, required=True)
    a = ap.parse_args()
    cams = [(row["url"], 1.0 / float(row["fps"])) for row in csv.DictReader(open(a.csv))]
    lock = threading.Lock()
    count = {"frames": 0, "ticks": 0, "read": 0, "errors": 0}
    opened = threading.Barrier(len(cams) + 1)
    started = threading.Event()
    start = {}

    def loop(url, period):
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        ok_open = cap.isOpened()
        opened.wait()
        started.wait()
        if not ok_open:
            with lock:
                count["errors"] += 1
            return
        t0, end = start["t0"], start["end"]
        due, fresh = t0, False
        while True:
            if not cap.grab():
                with lock:
                    count["errors"] += 1
                return
            fresh = True
            now = time.monotonic()
            with lock:
                count["read"] += 1
            if now >= end:
                return
            if now >= due:
                missed = int((now - due) / period)
                ok, img = cap.retrieve()
                if ok:
                    cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                with lock:
                    count["ticks"] += 1 + missed
                    count["frames"] += 1 if ok and fresh else 0
                fresh = False
                due += (1 + missed) * period

    threads = [threading.Thread(target=loop, args=c, daemon=True) for c in cams]
    for t in threads:
        t.start()
    opened.wait()  # every camera opened: the measured interval starts
    start["t0"] = time.monotonic()
    start["end"] = start["t0"] + a.duration
    c0 = cpu_s()
    started.set()
    peak = threads_now()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        peak = max(peak, threads_now())
    c1 = cpu_s()
    print(json.dumps({"frames": count["frames"], "ticks": count["ticks"], "read": count["read"],
                      "errors": count["errors"], "eta": count["frames"] / max(1, count["ticks"]),
                      "cpu_s": c1 - c0, "threads": peak}))


if __name__ == "__main__":
    main()
