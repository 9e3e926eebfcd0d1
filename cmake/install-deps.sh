#!/usr/bin/env bash
# Installs the Debian packages heatblast needs to build and test, skipping those already there.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build python3
  libprotobuf-dev protobuf-compiler
  libcurl4-openssl-dev libboost-dev rapidjson-dev libfmt-dev libexpected-dev
  libsqlite3-dev catch2 libbenchmark-dev
  libpq-dev postgresql  # load-worker's PostgreSQL target; its tests run a real server
  libssl-dev  # load-worker's https:// target (Boost.Asio's TLS)
  tar unzip zip gzip  # local-master's fetcher unpacks archives with them; zip: its tests
  libzookeeper-mt-dev zookeeper  # zk:// detection; its tests run a real ZooKeeper server
  # The sanitizer and libFuzzer build (quickstart.sh sanitize, which CI runs; tests/fuzz/run.sh;
  # quickstart.sh tsan)
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "heatblast: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "heatblast: these packages are missing and I am not root: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
