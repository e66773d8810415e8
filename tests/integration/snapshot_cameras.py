#!/usr/bin/python3
"""A camera server for tests (#15): many JPEG snapshot cameras and MJPEG cameras on 127.0.0.1,
served by Python's standard HTTP server (http.server.ThreadingHTTPServer, HTTP/1.1 keep-alive).

  GET /cam/<i>.jpg    camera i's current snapshot (image/jpeg)
  GET /mjpeg/<i>      camera i as an MJPEG stream (multipart/x-mixed-replace), at --mjpeg-fps

Camera i shows a distinct gray image that changes every --slot-s seconds (slot k = the k-th
interval since the server started): a smooth pattern drawn from a generator seeded with (i, k),
JPEG-encoded by PIL. Every (i, k) image served is also written once to --served DIR as
<i>_<k>.jpg, before it is sent (a SIGKILLed server has recorded all it sent), so a verifier can
decode exactly what was served and compare each result with it.

Failures on purpose: cameras in --dying (comma-separated ids) answer 503 between --die-at and
--back-at seconds; camera --corrupt serves a truncated JPEG every other slot. The whole server can
be killed and started again on the same --port with the same --t0-file: its cameras go on.

usage: snapshot_cameras.py --port-file F --served DIR [--cameras 1000] [--width 96] [--height 72]
                           [--slot-s 2] [--dying 3,7] [--die-at 5] [--back-at 9] [--corrupt -1]
"""
import argparse, io, os, re, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

A = None
T0 = time.monotonic()
CACHE = {}
LOCK = threading.Lock()
SERVED = set()


def image(cam, slot):
    key = (cam, slot)
    with LOCK:
        if key in CACHE:
            return CACHE[key]
    rng = np.random.default_rng([cam, slot, 7])
    small = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    img = Image.fromarray(small, "L").resize((A.width, A.height), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    if cam == A.corrupt and slot % 2 == 1:
        data = data[: len(data) // 2]  # truncated: does not decode
    with LOCK:
        CACHE[key] = data
        if len(CACHE) > 4 * A.cameras:
            for k in list(CACHE)[: A.cameras]:
                del CACHE[k]
    return data


def record(cam, slot, data):
    with LOCK:
        if (cam, slot) in SERVED:
            return
        SERVED.add((cam, slot))
    if cam == A.corrupt and slot % 2 == 1:
        return  # not a frame anyone can receive
    tmp = os.path.join(A.served, f".{cam}_{slot}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(A.served, f"{cam}_{slot}.jpg"))


def now_s():
    return time.monotonic() - T0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        m = re.fullmatch(r"/cam/(\d+)\.jpg", self.path) or re.fullmatch(r"/mjpeg/(\d+)", self.path)
        if not m or int(m.group(1)) >= A.cameras:
            self.send_error(404)
            return
        cam = int(m.group(1))
        t = now_s()
        if cam in A.dying and A.die_at <= t < A.back_at:
            self.send_error(503, "camera down")
            return
        if self.path.startswith("/mjpeg/"):
            self.stream(cam)
            return
        slot = int(t // A.slot_s)
        data = image(cam, slot)
        record(cam, slot, data)  # before it is sent: a SIGKILL after the send must not lose the record
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, cam):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                t = now_s()
                if cam in A.dying and A.die_at <= t < A.back_at:
                    return  # the camera drops its stream
                slot = int(t // A.slot_s)
                data = image(cam, slot)
                record(cam, slot, data)  # before it is sent (see do_GET)
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                 str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                self.wfile.flush()
                time.sleep(1.0 / A.mjpeg_fps)
        except (BrokenPipeError, ConnectionResetError):
            return


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--served", required=True)
    ap.add_argument("--cameras", type=int, default=1000)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--height", type=int, default=72)
    ap.add_argument("--slot-s", type=float, default=2.0)
    ap.add_argument("--mjpeg-fps", type=float, default=5.0)
    ap.add_argument("--dying", default="")
    ap.add_argument("--die-at", type=float, default=5.0)
    ap.add_argument("--back-at", type=float, default=9.0)
    ap.add_argument("--corrupt", type=int, default=-1)
    ap.add_argument("--port", type=int, default=0, help="listen here (0: a free port)")
    ap.add_argument("--t0-file", default="", help="slots count from the time in this file (written if "
                    "absent): a restarted server goes on with the same slots")
    A = ap.parse_args()
    global T0
    if A.t0_file:
        if os.path.exists(A.t0_file):
            T0 = time.monotonic() - (time.time() - float(open(A.t0_file).read()))
        else:
            with open(A.t0_file, "w") as f:
                f.write(repr(time.time() - (time.monotonic() - T0)))
    A.dying = {int(x) for x in A.dying.split(",") if x}
    os.makedirs(A.served, exist_ok=True)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer(("127.0.0.1", A.port), Handler)
    with open(A.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(A.port_file + ".tmp", A.port_file)  # the port, once the server listens
    srv.serve_forever()


if __name__ == "__main__":
    main()
