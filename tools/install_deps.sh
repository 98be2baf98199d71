#!/usr/bin/env bash
# Installs layerjoule's build and test dependencies from Debian 12 packages (run as root).
# Skips apt entirely when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libtorch-dev libopenblas0-pthread
  libpowercap-dev powercap-utils
  libsqlite3-dev sqlite3
  libeigen3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev
  python3 python3-numpy python3-sklearn python3-torch python3-torchvision python3-jsonschema
  python3-pandas python3-matplotlib python3-ipykernel jupyter-nbconvert
  util-linux clang-format clang libclang-rt-14-dev systemd
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
