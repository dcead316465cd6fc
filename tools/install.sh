#!/usr/bin/env bash
# Idempotent installer for espnet2_slap.
#
#   bash tools/install.sh            # venv in tools/venv + Debian packages for the demo corpus
#   bash tools/install.sh --no-apt   # only the Python side
#
# Creates tools/venv (Python 3.11), installs this package in editable mode with the
# pinned ESPnet / PyTorch stack and the test extras, and installs the Debian packages
# the mini_sounds demo reads its recordings from. Re-running is cheap: each part is
# skipped when its stamp matches the current requirements.
set -euo pipefail

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(dirname "${tools_dir}")
venv_dir=${SLAP_VENV:-${tools_dir}/venv}
python=${PYTHON:-python3.11}
with_apt=true
[ "${1:-}" = "--no-apt" ] && with_apt=false

log() { echo "[install $(date +%H:%M:%S)] $*"; }

# Debian packages: real recordings for the demo corpus (see egs2/mini_sounds/slap1/README.md),
# a Java runtime for the METEOR scorer of pycocoevalcap.
apt_packages=(
    tuxpaint-stamps-default
    asterisk-core-sounds-en-wav asterisk-core-sounds-en
    asterisk-core-sounds-es-wav asterisk-core-sounds-es
    asterisk-core-sounds-fr-wav asterisk-core-sounds-fr
    asterisk-core-sounds-it-wav asterisk-core-sounds-it
    asterisk-core-sounds-ru-wav asterisk-core-sounds-ru
    sonic-pi-samples
    sound-theme-freedesktop
    openttd-opensfx
    fluidsynth fluid-soundfont-gm timgm6mb-soundfont
    espeak-ng
    festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
    flite
    default-jre-headless
    libsndfile1
)

install_apt() {
    local missing=()
    for p in "${apt_packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "Debian packages present"
        return
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "error: need root (or sudo) to install: ${missing[*]}" >&2
            exit 1
        fi
    fi
    log "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
    if ! command -v "${python}" >/dev/null 2>&1; then
        python=python3
    fi
    local version
    version=$("${python}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [ "${version}" != "3.11" ] && [ "${version}" != "3.10" ]; then
        echo "error: Python 3.10 or 3.11 is required (espnet==202511); found ${version} at $(command -v "${python}")" >&2
        exit 1
    fi
    local stamp="${venv_dir}/.slap-install-stamp"
    local want
    want=$(cat "${root_dir}/setup.py" "${tools_dir}/install.sh" | sha256sum | cut -d' ' -f1)
    if [ -x "${venv_dir}/bin/python" ] && [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ]; then
        log "Python environment up to date: ${venv_dir}"
        return
    fi
    if [ ! -x "${venv_dir}/bin/python" ]; then
        log "creating virtualenv ${venv_dir} with ${python} ${version}"
        "${python}" -m venv "${venv_dir}"
    fi
    log "installing espnet2_slap and its pinned dependencies (a few minutes on a fresh machine)"
    # Newer pip (26+) rejects a direct-URL extra in the metadata of ci_sdr, an espnet dependency.
    "${venv_dir}/bin/python" -m pip install -q "pip==25.1.1"
    "${venv_dir}/bin/python" -m pip install -q -e "${root_dir}[test]"
    "${venv_dir}/bin/python" -c "import espnet2_slap, espnet, torch; print('espnet', espnet.__version__, 'torch', torch.__version__)"
    echo "${want}" > "${stamp}"
    log "done: ${venv_dir}"
}

${with_apt} && install_apt
install_python
