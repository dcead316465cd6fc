"""Random time roll of the waveform (AudioSet protocol of AudioMAE), in the data loader.

ESPnet's CLS preprocessing (``CommonPreprocessor``) runs first; in training the waveform is
then rotated by a uniform random number of samples (what falls off the end re-enters at the
start), so an event's position in the clip carries no information.
"""

from typing import Callable, Dict, Optional

import numpy as np


class RandomTimeRoll:
    """Wraps a preprocess function and rolls ``data[speech_name]`` along time.

    Args:
        preprocess: the task's own preprocess function (or None).
        speech_name: data name of the waveform.
    """

    def __init__(self, preprocess: Optional[Callable], speech_name: str = "speech"):
        self.preprocess = preprocess
        self.speech_name = speech_name

    def __call__(self, uid: str, data: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        if self.preprocess is not None:
            data = self.preprocess(uid, data)
        speech = data.get(self.speech_name)
        if speech is not None and len(speech) > 1:
            shift = np.random.randint(len(speech))
            data[self.speech_name] = np.roll(speech, shift, axis=0)
        return data
