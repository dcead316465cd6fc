"""The Debian packages the corpus is built from, and the check (or install) of stage 1.

``build_corpus.py packages`` runs :func:`ensure_packages`; the prepare stage runs it too when
it reads the real system (``--source_root /``), so a machine that lacks a package never
silently builds a smaller corpus.
"""

import os
import shutil
import subprocess
from typing import Dict, List, Sequence, Tuple

# package -> what the corpus takes from it (or why it is needed)
PACKAGES: Dict[str, str] = {
    "tuxpaint-stamps-default": "stamp sound effects",
    "sonic-pi-samples": "drum, instrument and loop samples",
    "sound-theme-freedesktop": "nameable desktop sounds and spoken channel names",
    "openttd-opensfx": "vehicle, animal, machine and weather recordings (OpenSFX)",
    "asterisk-core-sounds-en": "English prompt transcripts",
    "asterisk-core-sounds-en-wav": "English prompts",
    **{f"asterisk-core-sounds-{lang}": f"{name} prompt transcripts"
       for lang, name in (("es", "Spanish"), ("fr", "French"), ("it", "Italian"),
                          ("ru", "Russian"))},
    **{f"asterisk-core-sounds-{lang}-wav": f"{name} prompts"
       for lang, name in (("es", "Spanish"), ("fr", "French"), ("it", "Italian"),
                          ("ru", "Russian"))},
    "fluidsynth": "General MIDI renderer",
    "fluid-soundfont-gm": "FluidR3_GM soundfont",
    "timgm6mb-soundfont": "TimGM6mb soundfont",
    "espeak-ng": "text-to-speech",
    "festival": "text-to-speech",
    "festvox-kallpc16k": "festival voice kal_diphone",
    "festvox-kdlpc16k": "festival voice ked_diphone",
    "festvox-us-slt-hts": "festival voice cmu_us_slt_arctic_hts",
    "flite": "text-to-speech (voices awb, rms, slt)",
}
REQUIRED_PACKAGES: Tuple[str, ...] = tuple(PACKAGES)
# Reserved for held-out evaluation: never read, never installed by this builder.
FORBIDDEN_PACKAGES = frozenset({"gcompris-qt-data", "ufoai-sound", "hydrogen-drumkits"})


def missing_packages(packages: Sequence[str] = REQUIRED_PACKAGES) -> List[str]:
    """The packages of ``packages`` that dpkg does not list as installed."""
    if shutil.which("dpkg-query") is None:
        raise RuntimeError("dpkg-query not found: this corpus needs the Debian packages "
                           + " ".join(packages))
    missing = []
    for package in packages:
        result = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package],
                                capture_output=True, text=True)
        if result.returncode != 0 or result.stdout.strip() != "installed":
            missing.append(package)
    return missing


def install_command(packages: Sequence[str]) -> str:
    return "sudo apt-get install -y --no-install-recommends " + " ".join(packages)


def ensure_packages(install: bool, packages: Sequence[str] = REQUIRED_PACKAGES) -> List[str]:
    """Check the packages; install the missing ones with apt-get when ``install`` and root.

    Returns the packages that were installed. Raises RuntimeError with the install command
    when some are missing and cannot be installed here.
    """
    reserved = sorted(FORBIDDEN_PACKAGES & set(packages))
    if reserved:
        raise ValueError(f"reserved for held-out evaluation, never installed here: {reserved}")
    missing = missing_packages(packages)
    if not missing:
        return []
    if not install or os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages: {' '.join(missing)}\n"
                           f"install them with:  {install_command(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                   check=True, env=env)
    still = missing_packages(missing)
    if still:
        raise RuntimeError(f"apt-get did not install: {' '.join(still)}")
    return missing
