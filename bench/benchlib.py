"""What every benchmark stamps on its result file: the commit and the machine."""
import os, platform, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commit():
    try:
        return subprocess.check_output(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                                       cwd=ROOT, text=True).strip()
    except Exception:
        return "unknown"


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": cpu,
            "kernel": platform.release(),
            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
