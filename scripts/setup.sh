#!/usr/bin/env bash
# Installs what is missing (Debian packages; run as root or with sudo), then configures and
# builds ride in ./build. Idempotent: with everything installed and built it only checks.
#   RIDE_BUILD_DIR  build directory (default: build)
#   RIDE_CMAKE_ARGS extra CMake arguments (e.g. -DRIDE_USE_CUDA=OFF)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RIDE_BUILD_DIR:-$root/build}

packages=(
  build-essential cmake pkg-config git
  clang-format                        # scripts/check-format.sh (clang-format, clang-format-diff)
  openmpi-bin libopenmpi-dev          # the MPI job (Open MPI 4.1, --enable-recovery)
  libhdf5-dev hdf5-tools              # results and spill files; h5dump
  libopencv-dev ffmpeg libjpeg-dev    # kernels, video files and camera streams; IA's JPEG (libjpeg)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # network streams (RTSP, ...) decoded in a bounded pool
  libcurl4-openssl-dev                # HTTP cameras (snapshots, MJPEG), many on one thread (curl multi)
  libboost-program-options-dev        # configuration
  nlohmann-json3-dev                  # summaries and control messages
  libgtest-dev libbenchmark-dev       # tests and microbenchmarks
  python3 python3-h5py python3-numpy  # independent readers of the results in tests
  python3-matplotlib                  # bench plots
  python3-opencv                      # bench/camera_cpu.py: the Python/OpenCV camera poller ride is compared with
  python3-skimage                     # real photographs for kernel tests (skimage/data)
  bc procps                           # fault-injection test scripts (timing, pids)
  slurmctld slurmd slurm-client munge # slurm/ sbatch scripts, tested on a private one-node Slurm
  libhiredis-dev redis-server redis-tools  # bench/peers: Redis Streams reference
  libopenblas-dev libfftw3-dev        # matmul (BLAS) and FFT tasks on CPU
  coinor-libcbc-dev coinor-libclp-dev # ride plan: exact packing (CBC MIP) and LP bound (EPL-2.0)
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly           # RTSP test cameras (GStreamer's RTSP server, x264)
  libcpp-httplib-dev prometheus-cpp-dev  # the master's status server: HTTP, Prometheus text format
  chromium chromium-driver python3-selenium  # the status page tested in a real browser
  python3-prometheus-client           # a real Prometheus parser for /metrics in tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
# Warnings are errors in every build made through this script (CI and local alike), so the
# two README commands share one build tree and never rebuild each other's objects.
if [ ! -f "$build/CMakeCache.txt" ] || [ -n "${RIDE_CMAKE_ARGS:-}" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRIDE_WERROR=ON ${RIDE_CMAKE_ARGS:-} >/dev/null
fi
# RIDE_BUILD_TARGETS: build only these (bench/run builds what the reproductions run, not the tests)
cmake --build "$build" -j "$jobs" ${RIDE_BUILD_TARGETS:+--target $RIDE_BUILD_TARGETS}
