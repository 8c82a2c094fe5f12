#!/usr/bin/env bash
# Installs the system packages AttnLab needs. Idempotent: installs only what is missing.
#   scripts/install-deps.sh          everything (build, tests, figures, report)
#   scripts/install-deps.sh build    only what compiling needs (OpenBLAS)
#   scripts/install-deps.sh peers    Python with venv, for `make bench-peers` (PyTorch comes from PyPI)
# On Debian/Ubuntu it uses apt-get (as root, or through sudo); elsewhere it prints
# the packages to install and exits non-zero.
set -euo pipefail

BUILD_PKGS=(libopenblas-dev pkg-config)
PLOT_PKGS=(gnuplot-nox libgnuplot-iostream-dev)
REPORT_PKGS=(texlive-latex-base texlive-latex-recommended latexmk lmodern poppler-utils)
PEERS_PKGS=(python3 python3-venv)

case "${1:-all}" in
  build) WANT=("${BUILD_PKGS[@]}") ;;
  all)   WANT=("${BUILD_PKGS[@]}" "${PLOT_PKGS[@]}" "${REPORT_PKGS[@]}") ;;
  peers) WANT=("${PEERS_PKGS[@]}") ;;
  *) echo "install-deps.sh: unknown set '$1' (valid: build, all, peers)" >&2; exit 2 ;;
esac

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps.sh: this is not a Debian/Ubuntu system (no apt-get)." >&2
  echo "Install these packages (or your system's equivalents) and rerun make:" >&2
  printf '  %s\n' "${WANT[@]}" >&2
  exit 1
fi

MISSING=()
for pkg in "${WANT[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    MISSING+=("$pkg")
  fi
done
if [ ${#MISSING[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps.sh: need root to install: ${MISSING[*]}" >&2; exit 1
  fi
fi
echo "install-deps.sh: installing ${MISSING[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; refresh them once if a package is unknown.
if ! $SUDO apt-get install -y --no-install-recommends "${MISSING[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${MISSING[@]}"
fi
