#!/usr/bin/python3
"""Serves N live H.264 test cameras over RTSP on 127.0.0.1 with GStreamer's RTSP server (a real
server no one here wrote; ../shared/notes/test-servers.md), at rtsp://127.0.0.1:PORT/cam<i>.
Prints the port once it listens (the server binds port 0 itself: no other process can take the
port between its choice and the bind), then serves until killed.

usage: rtsp_server.py N [WIDTH HEIGHT FPS]
Odd sizes are served as H.264 High 4:4:4 (x264 refuses odd sizes in 4:2:0), even ones as 4:2:0.
"""
import sys

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    n = int(sys.argv[1])
    w, h, fps = (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (320, 240, 25)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")  # a free port, bound by attach()
    mounts = server.get_mount_points()
    for i in range(n):
        f = GstRtspServer.RTSPMediaFactory()
        fmt = ",format=Y444" if w % 2 or h % 2 else ""
        f.set_launch(f"( videotestsrc is-live=true pattern={i % 20} ! video/x-raw,width={w},height={h}{fmt},"
                     f"framerate={fps}/1 ! x264enc tune=zerolatency key-int-max={fps} ! rtph264pay name=pay0 pt=96 )")
        f.set_shared(True)
        mounts.add_factory(f"/cam{i}", f)
    if server.attach(None) == 0:  # binds and listens now; the main loop only accepts
        sys.exit("rtsp_server: cannot listen on 127.0.0.1")
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
