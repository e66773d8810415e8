#!/usr/bin/python3
"""The camera poller a user would write in Python with OpenCV, ride's peer in bench/camera_cpu.py:
each camera of a camera list (id,url,fps) fetched at its desired rate with urllib and decoded with
cv2.imdecode (gray), either by a thread per camera (--threads 0: the straightforward way) or by a
pool of --threads threads fed by one scheduler thread (the careful way). A tick whose fetch is
still running when the next is due is missed, as ride counts it. Prints JSON: frames, ticks, eta,
the process's CPU seconds over the run, threads at their most.

usage: opencv_poller.py CSV --duration S [--threads 0]
"""
import argparse, concurrent.futures, csv, heapq, json, resource, threading, time, urllib.request

import cv2
import numpy as np


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        data = r.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return img is not None


def cpu_s():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    cams = [(row["url"], 1.0 / float(row["fps"])) for row in csv.DictReader(open(a.csv))]
    lock = threading.Lock()
    count = {"frames": 0, "ticks": 0, "errors": 0}
    peak = [threading.active_count()]
    t0 = time.monotonic()
    end = t0 + a.duration
    c0 = cpu_s()

    def one(url):
        try:
            ok = fetch(url)
        except Exception:
            ok = False
        with lock:
            count["frames" if ok else "errors"] += 1

    if a.threads == 0:
        def loop(url, period, phase):
            due = t0 + phase
            while True:
                now = time.monotonic()
                if due >= end:
                    return
                if now < due:
                    time.sleep(due - now)
                    continue
                missed = int((now - due) / period)  # ticks that passed while the last fetch ran
                with lock:
                    count["ticks"] += 1 + missed
                due += (1 + missed) * period
                one(url)
        threads = [threading.Thread(target=loop, args=(u, p, p * i / len(cams)), daemon=True)
                   for i, (u, p) in enumerate(cams)]
        for t in threads:
            t.start()
        peak[0] = max(peak[0], threading.active_count())
        for t in threads:
            t.join()
    else:
        pool = concurrent.futures.ThreadPoolExecutor(a.threads)
        busy = [None] * len(cams)
        heap = [(t0 + p * i / len(cams), i) for i, (u, p) in enumerate(cams)]
        heapq.heapify(heap)
        while heap:
            due, i = heap[0]
            if due >= end:
                break
            now = time.monotonic()
            if now < due:
                time.sleep(min(due - now, 0.01))
                continue
            heapq.heappop(heap)
            with lock:
                count["ticks"] += 1
            if busy[i] is None or busy[i].done():
                busy[i] = pool.submit(one, cams[i][0])
            heapq.heappush(heap, (due + cams[i][1], i))
            peak[0] = max(peak[0], threading.active_count())
        pool.shutdown(wait=True)
    elapsed = time.monotonic() - t0
    cpu = cpu_s() - c0
    print(json.dumps({"frames": count["frames"], "ticks": count["ticks"], "errors": count["errors"],
                      "eta": count["frames"] / max(1, count["ticks"]), "cpu_s": cpu, "elapsed_s": elapsed,
                      "threads": peak[0], "cameras": len(cams)}))


if __name__ == "__main__":
    main()
