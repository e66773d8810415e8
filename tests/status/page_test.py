#!/usr/bin/python3
"""Checks the master's live status page (src/status/page.html) in headless Chromium against the
snapshots the status server itself serves.

It opens URL, waits until #seq shows a number, then N times reads every headline number and the
rank grid in one script call (so all of it comes from the one snapshot the page rendered), fetches
that very snapshot with URL/status?seq=SEQ, and compares: integers exactly (after stripping the
thousands separators), decimals to the snapshot's value rounded to one decimal, the worker /
spare / dead counts, and every rank tile's data-state. Then it checks both charts have drawn a line
of two points or more and that the browser console holds no SEVERE entries.

usage: page_test.py URL [--screenshot PATH] [--checks N] [--expect-ended] [--end-timeout S]
  --expect-ended  also wait until #banner is visible and says "job ended"
Needs Debian's python3-selenium, chromium and chromium-driver. Exit 0: all checks passed;
1: a check failed (the message says which and why).
"""
import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

DASH = "\u2013"  # what the page shows for a null
INT_IDS = {"seq": ("seq",), "ingested": ("totals", "ingested"), "processed": ("totals", "processed"),
           "committed": ("totals", "committed"), "lag": ("totals", "lag_frames")}
DEC_IDS = {"elapsed": ("elapsed_s",), "lag-s": ("totals", "lag_s"), "fps-in": ("totals", "fps_in"),
           "fps-processed": ("totals", "fps_processed")}
COUNT_IDS = {"workers": "worker", "spares": "spare", "dead": "dead"}
HEADLINE_IDS = list(INT_IDS) + list(DEC_IDS) + list(COUNT_IDS) + ["state"]

# One call, so everything read comes from the same render (the page renders a snapshot in one
# synchronous function; a script call runs between two renders, never inside one).
READ_JS = """
const ids = arguments[0], out = {text: {}, ranks: {}, tiles: 0, tileStates: {}};
for (const id of ids) { const e = document.getElementById(id); out.text[id] = e ? e.textContent.trim() : null; }
for (const t of document.querySelectorAll('#ranks [data-rank]')) {
  const st = t.getAttribute('data-state');
  out.ranks[t.getAttribute('data-rank')] = st;
  out.tiles++;
  out.tileStates[st] = (out.tileStates[st] || 0) + 1;
}
return out;
"""

CHART_JS = """
function points(svg) {
  let best = 0;
  if (!svg) return -1;
  for (const e of svg.querySelectorAll('polyline, path')) {
    const src = e.tagName.toLowerCase() === 'polyline' ? (e.getAttribute('points') || '') : (e.getAttribute('d') || '');
    const nums = src.match(/-?(\\d+\\.?\\d*|\\.\\d+)(e-?\\d+)?/gi) || [];
    best = Math.max(best, Math.floor(nums.length / 2));
  }
  return best;
}
return {rate: points(document.getElementById('chart-rate')), backlog: points(document.getElementById('chart-backlog'))};
"""


class CheckFailed(Exception):
    pass


def dig(snap, path):
    v = snap
    for k in path:
        if not isinstance(v, dict) or k not in v:
            raise CheckFailed(f"snapshot {snap.get('seq')} has no {'.'.join(path)}")
        v = v[k]
    return v


def page_number(id_, text):
    if text is None:
        raise CheckFailed(f"the page has no element #{id_}")
    t = text.replace(",", "").strip()
    if t == DASH:
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        raise CheckFailed(f"#{id_} shows {text!r}, not a number")


def one_decimal_forms(v):
    """The values a one-decimal rendering of v may show (half-up or half-even, on the binary value
    or on its shortest repr: JavaScript's toFixed and Python's round differ on ties)."""
    q = Decimal("0.1")
    return {Decimal(v).quantize(q, ROUND_HALF_UP), Decimal(v).quantize(q, ROUND_HALF_EVEN),
            Decimal(repr(float(v))).quantize(q, ROUND_HALF_UP), Decimal(repr(float(v))).quantize(q, ROUND_HALF_EVEN)}


def compare(page, snap):
    """Raises CheckFailed on the first difference; returns a one-line summary."""
    text = page["text"]
    problems = []

    def shown(ids, null_note=""):
        """(id, snapshot value, page number) for every id whose snapshot value is not null; a page
        that shows a number for a null is a problem (null_note added to it)."""
        for id_, path in ids.items():
            want = dig(snap, path)
            got = page_number(id_, text.get(id_))
            if want is not None:
                yield id_, want, got
            elif got is not None:
                problems.append(f"#{id_} shows {text[id_]!r}, snapshot has null{null_note}")

    for id_, want, got in shown(INT_IDS):
        if got is None or got != Decimal(repr(want) if isinstance(want, float) else str(want)):
            problems.append(f"#{id_} shows {text[id_]!r}, snapshot has {want!r}")
    for id_, want, got in shown(DEC_IDS, f" (expected {DASH!r})"):
        if not re.fullmatch(r"-?[\d,]+\.\d", text[id_]):
            problems.append(f"#{id_} shows {text[id_]!r}, not a number with one decimal")
        elif got not in one_decimal_forms(want):
            problems.append(f"#{id_} shows {text[id_]!r}, snapshot has {want!r} "
                            f"(expected {sorted(str(x) for x in one_decimal_forms(want))})")
    if text.get("state") != snap.get("state"):
        problems.append(f"#state shows {text.get('state')!r}, snapshot has {snap.get('state')!r}")

    ranks = snap.get("ranks")
    if not isinstance(ranks, list):
        raise CheckFailed(f"snapshot {snap.get('seq')} has no ranks list")
    counts = {st: sum(1 for r in ranks if r.get("state") == st) for st in COUNT_IDS.values()}
    for id_, st in COUNT_IDS.items():
        got = page_number(id_, text.get(id_))
        if got != counts[st]:
            problems.append(f"#{id_} shows {text.get(id_)!r}, snapshot has {counts[st]} ranks in state {st!r}")
        tiles = page["tileStates"].get(st, 0)
        if tiles != counts[st]:
            problems.append(f"the grid has {tiles} tiles with data-state={st!r}, snapshot has {counts[st]}")
    want_states = {str(r.get("rank")): r.get("state") for r in ranks}
    if page["tiles"] != len(page["ranks"]):
        problems.append(f"the grid has {page['tiles']} tiles for {len(page['ranks'])} distinct ranks")
    if set(page["ranks"]) != set(want_states):
        missing = sorted(set(want_states) - set(page["ranks"]), key=int)
        extra = sorted(set(page["ranks"]) - set(want_states), key=lambda x: (len(x), x))
        problems.append(f"the grid's ranks differ from the snapshot's: missing {missing}, extra {extra}")
    for r, st in want_states.items():
        if r in page["ranks"] and page["ranks"][r] != st:
            problems.append(f"rank {r}'s tile has data-state={page['ranks'][r]!r}, snapshot has {st!r}")
    if problems:
        raise CheckFailed(f"the page does not show snapshot {snap.get('seq')}:\n  " + "\n  ".join(problems))
    return (f"seq {text['seq']} state {text['state']} elapsed {text['elapsed']} ingested {text['ingested']} "
            f"processed {text['processed']} committed {text['committed']} lag {text['lag']} ({text['lag-s']} s) "
            f"fps in {text['fps-in']} processed {text['fps-processed']}; {len(want_states)} rank tiles, "
            f"{counts['worker']} workers, {counts['spare']} spares, {counts['dead']} dead")


def fetch_seq(base, seq):
    """The snapshot with that seq, or None when the server no longer keeps it (404)."""
    url = urllib.parse.urljoin(base, f"status?seq={seq}")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise CheckFailed(f"GET {url}: HTTP {e.code} {e.reason}")


def is_benign(entry, expect_ended):
    """Network noise the page handles on purpose: the status server's 503 before its first snapshot
    and, once the job may end, the refused connections while the page keeps retrying."""
    msg = entry.get("message", "")
    if entry.get("source") != "network" and "Failed to load resource" not in msg:
        return False
    if not re.search(r"/status(/history)?(\?|\s|$)", msg):
        return False
    if "status of 503" in msg:
        return True
    return expect_ended and ("net::ERR_" in msg or "Failed to fetch" in msg)


def run(args, driver, base):
    driver.get(args.url)
    print(f"opened {args.url}")
    try:
        WebDriverWait(driver, 20, poll_frequency=0.2).until(
            lambda d: re.fullmatch(r"\d[\d,]*", d.execute_script(
                "const e = document.getElementById('seq'); return e ? e.textContent.trim() : '';") or ""))
    except Exception:
        raise CheckFailed("#seq did not show a snapshot number within 20 s")
    t_start = time.monotonic()

    passed = 0
    for i in range(args.checks):
        if i:
            time.sleep(1.5)
        for attempt in range(10):
            page = driver.execute_script(READ_JS, HEADLINE_IDS)
            seq = page["text"].get("seq", "").replace(",", "")
            if not seq.isdigit():
                raise CheckFailed(f"#seq shows {page['text'].get('seq')!r}, not a snapshot number")
            try:
                snap = fetch_seq(base, seq)
            except urllib.error.URLError as e:
                if args.expect_ended and passed:
                    print(f"check {i + 1}: the status server is gone ({e.reason}); the job ended, "
                          f"{passed} check(s) done before")
                    snap = "gone"
                    break
                raise CheckFailed(f"GET status?seq={seq}: {e.reason}")
            if snap is not None:
                break
            print(f"check {i + 1}: snapshot {seq} is no longer kept (404), reading the page again")
            time.sleep(0.3)
        else:
            raise CheckFailed(f"check {i + 1}: the server kept none of the snapshots the page showed (10 tries)")
        if snap == "gone":
            break
        print(f"check {i + 1}: ok: {compare(page, snap)}")
        passed += 1

    # The rate chart needs three samples (two differences), history comes once a second.
    deadline = t_start + 12
    while True:
        pts = driver.execute_script(CHART_JS)
        if pts["rate"] >= 2 and pts["backlog"] >= 2:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"charts: the longest drawn line has {pts['rate']} points in #chart-rate and "
                              f"{pts['backlog']} in #chart-backlog (-1: no such svg); want >= 2 each")
        time.sleep(0.5)
    print(f"charts: ok: longest line has {pts['rate']} points in #chart-rate, {pts['backlog']} in #chart-backlog")

    if args.expect_ended:
        try:
            WebDriverWait(driver, args.end_timeout, poll_frequency=0.5).until(lambda d: d.execute_script(
                "const b = document.getElementById('banner');"
                "return !!b && b.offsetParent !== null && b.getClientRects().length > 0 && "
                "b.textContent.includes('job ended');"))
        except Exception:
            text = driver.execute_script("const b = document.getElementById('banner'); "
                                         "return b ? [b.hidden, b.textContent] : null;")
            raise CheckFailed(f"#banner did not show 'job ended' within {args.end_timeout} s "
                              f"(banner [hidden, text]: {text!r})")
        banner = driver.find_element("id", "banner")
        if not banner.is_displayed():
            raise CheckFailed("#banner says 'job ended' but is not displayed")
        print(f"banner: ok: {banner.text!r}")
        time.sleep(1.5)  # the page keeps polling after the end: give it a round to misbehave

    entries = driver.get_log("browser")
    severe = [e for e in entries if e.get("level") == "SEVERE"]
    bad = [e for e in severe if not is_benign(e, args.expect_ended)]
    if bad:
        raise CheckFailed("the browser console has SEVERE entries:\n  " +
                          "\n  ".join(f"[{e.get('source')}] {e.get('message')}" for e in bad))
    print("console: ok: no SEVERE entries" +
          (f" ({len(severe)} expected network ones ignored: 503 before the first snapshot"
           f"{' or the server gone after the end' if args.expect_ended else ''})" if severe else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="the status page, e.g. http://127.0.0.1:40123/")
    ap.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window there")
    ap.add_argument("--checks", type=int, default=3, metavar="N", help="page-vs-snapshot comparisons (default 3)")
    ap.add_argument("--expect-ended", action="store_true", help='wait until #banner shows "job ended"')
    ap.add_argument("--end-timeout", type=float, default=120, metavar="S",
                    help="with --expect-ended: how long to wait for the banner (default 120)")
    args = ap.parse_args()
    base = args.url if args.url.endswith("/") else args.url + "/"

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1600"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    code = 1
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        run(args, driver, base)
        print("PASS: the status page matches the server's snapshots")
        code = 0
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
    except Exception as e:  # the browser or driver broke: still a clear message and exit 1
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        if driver is not None:
            if args.screenshot:
                try:
                    driver.save_screenshot(args.screenshot)
                    print(f"screenshot: {args.screenshot}")
                except Exception as e:
                    print(f"could not save the screenshot: {e}", file=sys.stderr)
                    code = 1
            driver.quit()
    return code


if __name__ == "__main__":
    sys.exit(main())
