#!/usr/bin/env python3
"""Runs a real MPI job and drives its HTTP status server from outside, as an operator would.

usage: status_job.py SCENARIO RIDE VERIFY NP WORKDIR [ride run options...] [--verify verify_run options...]

Scenarios (#13):
  page     the live page in headless Chromium (tests/status/page_test.py): the numbers shown
           equal /status?seq=N of the snapshot shown; charts drawn; "job ended" after the end;
           a screenshot (also copied to $RIDE_SCREENSHOT when set)
  metrics  /metrics parsed by prometheus_client's parser while the job runs: ride_ names, base
           units, _total counters that only grow, per-stream series capped by status.stream_series
  control  refused without a token and with a wrong one; malformed requests get 400; a paused
           stream's rate drops to 0 while the others go on, and comes back on resume; a stage's
           group grows by the scaling machinery (and a resize past the spares is refused with a
           reason); drain ends the job early with everything ingested processed, exit 0

Every scenario then checks the run from outside: exit code 0, verify_run on the summary and the
results file, processed == ingested, lost = duplicates = 0, and the summary's status.url.
Run with /usr/bin/python3 (Debian's selenium and prometheus_client).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def fail(msg):
    print(f"status_job: FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def http(method, url, token=None, body=None, timeout=10):
    """(status, parsed JSON or text) of one request; never raises on an HTTP error status."""
    req = urllib.request.Request(url, method=method, data=body.encode() if isinstance(body, str) else body)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, code, headers = r.read().decode(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, code, headers = e.read().decode(), e.code, e.headers
    try:
        return code, json.loads(raw), headers
    except ValueError:
        return code, raw, headers


class Job:
    def __init__(self, ride, np, work, args):
        self.work = work
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        self.log_path = os.path.join(work, "out.log")
        cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(np), "--",
               "--summary", os.path.join(work, "summary.json"), "--output.path=" + os.path.join(work, "results.h5")]
        cmd += args
        self.log = open(self.log_path, "w")
        self.lines = []
        self.proc = subprocess.Popen(["timeout", "-k", "5", "170"] + cmd, env=dict(os.environ, RIDE=ride),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self.token = None
        deadline = time.time() + 60
        while time.time() < deadline and (self.url is None or self.token is None):
            for line in list(self.lines):
                m = re.search(r"\[ride\] status: (http://\S+/)", line)
                if m:
                    self.url = m.group(1)
                m = re.search(r"\[ride\] status: control token ([0-9a-f]+)", line)
                if m:
                    self.token = m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if self.url is None:
            self.dump()
            fail("the job printed no '[ride] status: http://HOST:PORT/' line")
        print(f"status_job: job at {self.url} (token {'printed' if self.token else 'none'})", flush=True)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            self.log.write(line)
            self.log.flush()

    def dump(self):
        sys.stdout.write("".join(self.lines))

    def status(self):
        code, doc, _ = http("GET", self.url + "status")
        if code != 200:
            fail(f"GET /status answered {code}: {doc}")
        return doc

    def wait(self, timeout=150):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.dump()
            fail("the job did not end")
        self.reader.join(5)
        self.log.close()
        return rc

    def wait_for(self, what, pred, timeout=20, interval=0.25):
        deadline = time.time() + timeout
        doc = None
        while time.time() < deadline:
            doc = self.status()
            if pred(doc):
                return doc
            time.sleep(interval)
        fail(f"timed out waiting for {what}; last /status: {json.dumps(doc)[:2000]}")


def stream_of(doc, sid):
    for s in doc["streams"]:
        if s["id"] == sid:
            return s
    return None


# ---------------------------------------------------------------------------------------------
def scenario_page(job):
    job.wait_for("the first frames", lambda d: d["totals"]["processed"] > 0)
    shot = os.path.join(job.work, "status_page.png")
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "status", "page_test.py"), job.url,
                        "--checks", "3", "--expect-ended", "--screenshot", shot], timeout=150)
    if r.returncode != 0:
        fail("the page did not match /status (tests/status/page_test.py)")
    if os.environ.get("RIDE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["RIDE_SCREENSHOT"])
        print(f"status_job: screenshot copied to {os.environ['RIDE_SCREENSHOT']}")


def scenario_metrics(job, stream_series):
    from prometheus_client.parser import text_string_to_metric_families

    job.wait_for("the first frames", lambda d: d["totals"]["processed"] > 0)
    scrapes = []
    for i in range(8):
        code, text, headers = http("GET", job.url + "metrics")
        if code != 200:
            fail(f"GET /metrics answered {code}")
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
            fail(f"/metrics Content-Type is {ctype!r}, not the Prometheus text format 0.0.4")
        families = list(text_string_to_metric_families(text))  # raises on a malformed exposition
        scrapes.append(families)
        time.sleep(0.7)
    names = set()
    for fam in scrapes[-1]:
        if not fam.name.startswith("ride_"):
            fail(f"metric {fam.name} lacks the ride_ prefix")
        if fam.type == "counter":
            for s in fam.samples:
                if not s.name.endswith("_total"):
                    fail(f"counter sample {s.name} does not end in _total")
        for s in fam.samples:
            names.add(s.name)
            if re.search(r"_(ms|milliseconds|kb|mb|percent)(_|$)", s.name):
                fail(f"{s.name}: not a base unit")
    for want in ["ride_frames_ingested_total", "ride_frames_processed_total", "ride_frames_committed_total",
                 "ride_backlog_frames", "ride_partition_lag_frames", "ride_partition_lag_seconds",
                 "ride_rank_up", "ride_stage_workers", "ride_stream_frames_total", "ride_streams"]:
        if want not in names:
            fail(f"/metrics lacks {want}")
    labels = {k for fam in scrapes[-1] for s in fam.samples for k in s.labels}
    for want in ["stage", "partition", "rank", "stream"]:
        if want not in labels:
            fail(f"/metrics has no series labelled {want}")
    # Counters only grow, series by series.
    last = {}
    grew = 0
    for families in scrapes:
        for fam in families:
            if fam.type != "counter":
                continue
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                if key in last and s.value < last[key]:
                    fail(f"counter {key} went down: {last[key]} -> {s.value}")
                if key in last and s.value > last[key]:
                    grew += 1
                last[key] = s.value
    if grew == 0:
        fail("no counter grew while the job ran")
    final = scrapes[-1]
    streams = [s for fam in final for s in fam.samples if s.name == "ride_stream_frames_total"]
    total = [s.value for fam in final for s in fam.samples if s.name == "ride_streams"]
    doc = job.status()
    if not total or total[0] != doc["streams_total"]:
        fail(f"ride_streams {total} differs from /status streams_total {doc['streams_total']}")
    if len(streams) != min(stream_series, int(total[0])):
        fail(f"{len(streams)} per-stream series for {int(total[0])} streams; status.stream_series = {stream_series}")
    print(f"status_job: metrics ok: {len(names)} series names, {grew} counter increases over 8 scrapes, "
          f"{len(streams)} per-stream series of {int(total[0])} streams")


def scenario_control(job, fps):
    url, token = job.url, job.token
    if not token:
        fail("no control token was printed")
    job.wait_for("the first frames", lambda d: d["totals"]["processed"] > 0 and len(d["streams"]) >= 2)
    # Refused without the token and with a wrong one: nothing happens.
    code, body, headers = http("POST", url + "control/drain")
    if code != 401 or "WWW-Authenticate" not in headers:
        fail(f"drain without a token answered {code} {body}, expected 401 with WWW-Authenticate")
    code, body, _ = http("POST", url + "control/drain", token="0" * 32)
    if code != 401:
        fail(f"drain with a wrong token answered {code} {body}, expected 401")
    code, body, _ = http("POST", url + "control/streams/0/pause", token=token[:-1])
    if code != 401:
        fail(f"pause with a truncated token answered {code}, expected 401")
    if job.status()["state"] != "running":
        fail("a refused command changed the job")
    # Malformed: 400 with a message.
    for path, body in [("control/stages/main/workers", "{\"count\": \"many\"}"),
                       ("control/stages/main/workers", "lots"),
                       ("control/stages/main/workers", None),
                       ("control/streams/x7/pause", None)]:
        code, reply, _ = http("POST", url + path, token=token, body=body)
        if code != 400 or not isinstance(reply, dict) or not reply.get("message"):
            fail(f"POST /{path} {body!r} answered {code} {reply}, expected 400 with a message")
    code, reply, _ = http("POST", url + "control/streams/999/pause", token=token)
    if code != 404:
        fail(f"pausing an unknown stream answered {code} {reply}, expected 404")
    code, reply, _ = http("POST", url + "control/stages/nosuch/workers?count=2", token=token)
    if code != 404:
        fail(f"resizing an unknown stage answered {code} {reply}, expected 404")

    # Pause stream 0: its rate drops to 0 while the others keep theirs; resume brings it back.
    job.wait_for("stream rates", lambda d: all(s["fps"] is not None and s["fps"] > 0.5 * fps for s in d["streams"]))
    code, reply, _ = http("POST", url + "control/streams/0/pause", token=token)
    if code != 200:
        fail(f"pause answered {code} {reply}")
    time.sleep(2.5)
    doc = job.wait_for("stream 0 paused at 0 fps",
                       lambda d: stream_of(d, 0)["paused"] and stream_of(d, 0)["fps"] == 0)
    others = [s["fps"] for s in doc["streams"] if s["id"] != 0]
    if min(others) < 0.5 * fps:
        fail(f"pausing stream 0 slowed the others: {others}")
    frozen = stream_of(doc, 0)["frames"]
    time.sleep(1.5)
    doc = job.status()
    if stream_of(doc, 0)["frames"] != frozen or stream_of(doc, 0)["paused_ticks"] == 0:
        fail(f"paused stream 0 still produced frames or counted no paused ticks: {stream_of(doc, 0)}")
    print(f"status_job: paused: stream 0 at {stream_of(doc, 0)['fps']} fps, others {others}")
    code, reply, _ = http("POST", url + "control/streams/0/resume", token=token)
    if code != 200:
        fail(f"resume answered {code} {reply}")
    doc = job.wait_for("stream 0 back at its rate",
                       lambda d: not stream_of(d, 0)["paused"] and (stream_of(d, 0)["fps"] or 0) > 0.5 * fps)
    print(f"status_job: resumed: stream 0 at {stream_of(doc, 0)['fps']} fps")

    # Resize: the group grows through the scaling machinery; past the spares it is refused.
    stage = doc["stages"][0]
    before = len(stage["workers"])
    spares = sum(1 for r in doc["ranks"] if r["state"] == "spare")
    parts = len(stage["partitions"])
    want = min(before + 2, parts, before + spares)
    if want <= before:
        fail(f"the job leaves no room to grow: {before} workers, {spares} spares, {parts} partitions")
    code, reply, _ = http("POST", url + f"control/stages/{stage['name']}/workers", token=token,
                          body=json.dumps({"count": want}))
    if code != 200:
        fail(f"resize to {want} answered {code} {reply}")
    doc = job.wait_for(f"{want} workers", lambda d: len(d["stages"][0]["workers"]) == want)
    grows = [e for e in doc["scaling"] if e["action"] == "grow"]
    if not grows or "operator" not in grows[-1]["reason"]:
        fail(f"no grow event from the operator's resize: {doc['scaling']}")
    code, reply, _ = http("POST", url + f"control/stages/{stage['name']}/workers?count={parts + 5}", token=token)
    if code != 409 or "partition" not in reply.get("message", ""):
        fail(f"resize past the partitions answered {code} {reply}, expected 409 with the reason")
    print(f"status_job: resized {stage['name']}: {before} -> {want} workers; past the partitions: {reply['message']}")
    # Frames flow through the grown group.
    seen = doc["totals"]["processed"]
    job.wait_for("frames after the resize", lambda d: d["totals"]["processed"] > seen + 10)

    # Drain: stop reading, commit everything ingested, exit 0 (checked after the job ends).
    code, reply, _ = http("POST", url + "control/drain", token=token)
    if code not in (200, 202):
        fail(f"drain answered {code} {reply}")


def scenario_drain_batch(job):
    """A batch job drained while ingest is still storing frames: ingest stops, what it stored
    is processed and committed, exit 0."""
    job.wait_for("frames stored", lambda d: d["totals"]["ingested"] > 0)
    code, reply, _ = http("POST", job.url + "control/drain", token=job.token)
    if code not in (200, 202):
        fail(f"drain answered {code} {reply}")
    print(f"status_job: drained a batch job while it stored frames: {reply['message']}")


def check_control_log(log):
    for c in ["pause stream 0", "resume stream 0", "drain"]:
        if not any(e["command"] == c and e["result"] == "ok" and e["caller"] for e in log):
            fail(f"the control log lacks '{c}' with its caller: {log}")
    if sum(1 for e in log if e["result"] == "unauthorized") < 3:
        fail(f"the refused requests are not all logged: {log}")


def scenario_port_in_use(ride, np, work, args):
    """status.listen on a port another process holds: a configuration error naming the key, every
    rank exits at once (exit code 2), nothing hangs."""
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    os.makedirs(work, exist_ok=True)
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(np), "--",
           f"--status.listen=127.0.0.1:{port}", "--output.path=" + os.path.join(work, "results.h5")] + args
    t0 = time.time()
    r = subprocess.run(["timeout", "-k", "5", "60"] + cmd, env=dict(os.environ, RIDE=ride), capture_output=True,
                       text=True)
    took = time.time() - t0
    print(r.stdout + r.stderr)
    if r.returncode == 124:
        fail("the job hung")
    if r.returncode != 2:
        fail(f"exit code {r.returncode}, expected 2 (a configuration error)")
    if not re.search(rf"configuration error: 'status.listen' \(command line\): cannot listen on 127.0.0.1:{port}: the port is in use",
                     r.stdout + r.stderr):
        fail("the error does not name status.listen and the port in use")
    print(f"status_job: port {port} in use: configuration error, every rank out in {took:.1f} s")
    print("status_job: PASS")


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        sys.exit(2)
    scenario, ride, verify, np, work = sys.argv[1:6]
    rest = sys.argv[6:]
    ride_args, verify_args = rest, []
    if "--verify" in rest:
        i = rest.index("--verify")
        ride_args, verify_args = rest[:i], rest[i + 1:]

    def arg(key, default):
        for a in ride_args:
            if a.startswith(f"--{key}="):
                return a.split("=", 1)[1]
        return default

    if scenario == "port_in_use":
        return scenario_port_in_use(ride, int(np), work, ride_args)
    job = Job(ride, int(np), work, ride_args)
    if scenario == "page":
        scenario_page(job)
    elif scenario == "metrics":
        scenario_metrics(job, int(arg("status.stream_series", "64")))
    elif scenario == "control":
        scenario_control(job, float(arg("ingest.fps", "15")))
    elif scenario == "drain_batch":
        scenario_drain_batch(job)
    else:
        fail(f"unknown scenario {scenario}")
    rc = job.wait()
    job.dump()
    if rc != 0:
        fail(f"ride run exited {rc}, expected 0")
    s = json.load(open(os.path.join(work, "summary.json")))
    f = s["frames"]
    if not (s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"]):
        fail(f"the run lost or duplicated frames: status {s['status']}, frames {f}")
    if s.get("status.url") != job.url:
        fail(f"the summary's status.url is {s.get('status.url')}, the job printed {job.url}")
    if scenario in ("control", "drain_batch"):
        if scenario == "control":
            check_control_log(s["control"]["log"])
        if not s["control"]["drained"]:
            fail("the summary does not say the job was drained")
        planned = (float(arg("ingest.frames", "0")) if scenario == "drain_batch" else
                   float(arg("ingest.duration_s", "0")) * float(arg("ingest.fps", "15"))) * int(arg("ingest.streams", "4"))
        if planned and f["ingested"] >= planned:
            fail(f"drain did not end the inputs early: {f['ingested']} of {planned} frames")
        print(f"status_job: drained: {f['ingested']} frames ingested (of {planned:.0f} planned), all processed")
    r = subprocess.run([verify, os.path.join(work, "summary.json"), os.path.join(work, "results.h5"), np] + verify_args)
    if r.returncode != 0:
        fail("verify_run failed")
    print("status_job: PASS")


if __name__ == "__main__":
    main()
