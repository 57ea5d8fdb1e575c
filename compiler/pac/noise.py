"""Generated background noise for training augmentation, so no noise recordings are needed.

White noise (flat spectrum), pink noise (-3 dB per octave: fans, rain, rooms) and brown noise
(-6 dB per octave: traffic, rumble), ten seconds each at 16 kHz, from a fixed seed: the same clips
on every run and every machine (the activation cache keys on their content).  ``pac train`` mixes
them into training clips by default (5-20 dB SNR, like a folder given with ``--noise``) when the data
holds no recordings of the room (:func:`pac.dataset.room_recordings`, which replace them); on the
5-shot accuracy benchmark (no background label, clips classified one by one) that helps as much as
mixing in real background recordings.
"""

from __future__ import annotations

import functools

import numpy as np

from .activations import NoiseBank
from .audio import Audio

#: The generated noise colours, in noise-bank order.
COLOURS = ("white", "pink", "brown")
RATE = 16000
SECONDS = 10.0
SEED = 2020_05_12

# Pink: a 3-pole/3-zero filter whose response follows 1/f within about 0.5 dB over the audio band
# (the classic coefficients published by J. O. Smith, "Spectral Audio Signal Processing").
_PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
_PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)
# Brown: a leaky integrator (1/f^2 above ~13 Hz at 16 kHz).
_BROWN_B = (1.0,)
_BROWN_A = (1.0, -0.995)


def coloured_noise(colour: str, *, seconds: float = SECONDS, rate: int = RATE, seed: int = SEED) -> np.ndarray:
    """``seconds`` of ``colour`` noise at ``rate``, peak-normalised to 0.5.

    Parameters
    ----------
    colour : {"white", "pink", "brown"}
        Spectral slope: flat, -3 dB/octave or -6 dB/octave.
    seconds, rate : float, int
        Length and sample rate.
    seed : int
        Seeds the white noise every colour is filtered from.
    """
    from scipy.signal import lfilter

    if colour not in COLOURS:
        raise ValueError(f"colour must be one of {', '.join(COLOURS)}")
    n = int(round(seconds * rate))
    warm_up = rate  # let the filters settle: drop the first second
    white = np.random.default_rng([seed, COLOURS.index(colour)]).standard_normal(n + warm_up)
    if colour == "pink":
        x = lfilter(_PINK_B, _PINK_A, white)
    elif colour == "brown":
        x = lfilter(_BROWN_B, _BROWN_A, white)
    else:
        x = white
    x = x[warm_up:]
    return 0.5 * x / np.abs(x).max()


@functools.lru_cache(maxsize=1)
def generated_bank() -> NoiseBank:
    """The generated noise clips (white, pink, brown) as a noise bank."""
    return NoiseBank(
        [Audio(samples=coloured_noise(c), rate=RATE, channels=1, source=f"generated {c} noise") for c in COLOURS]
    )
