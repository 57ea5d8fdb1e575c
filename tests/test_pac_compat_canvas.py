"""pac-compat's browser step against real Chromium: MIT's page draws the server's 1000x1000 PNG into
a 200x200 canvas (``tf.browser.fromPixels`` of an ``Image`` whose width and height are 200), and
:mod:`pac.features.canvas` must give the pixels Chromium's canvas gives.

Real matplotlib draws the figures of real clips (as MIT's server did), headless Chromium
(``--disable-gpu``: the software canvas) draws them as TF.js 1.5.2's ``fromPixels`` does
(``drawImage(img, 0, 0, width, height)`` then ``getImageData``), and every value must be equal.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DATA, fsdd
from pac.audio import read_wav
from pac.browser import Browser
from pac.features import PROFILES, canvas
from pac.features.compat import compat_window
from test_pac_compat import real_matplotlib_png, real_matplotlib_png_bytes

pytestmark = pytest.mark.slow

COMPAT = PROFILES["pac-compat"]

#: fromPixels as TF.js 1.5.2 runs it on MIT's Image (width = height = 200).
FROM_PIXELS = """
const url = arguments[0];
return new Promise((resolve, reject) => {
  const img = new Image();
  img.onload = () => {
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.canvas.width = img.width;
    ctx.canvas.height = img.height;
    ctx.drawImage(img, 0, 0, img.width, img.height);
    resolve(Array.from(ctx.getImageData(0, 0, img.width, img.height).data));
  };
  img.onerror = () => reject(new Error('cannot load ' + url));
  img.src = url;
  img.width = 200;
  img.height = 200;
});
"""

# An 8 kHz digit (matplotlib's nearest path), a 16 kHz word, a 16 kHz sentence (Hanning path) and a
# 44.1 kHz cello note (Hanning path, more segments than pixels).
CLIPS = [
    fsdd(3, "nicolas", 7),
    DATA
    / "speech_commands_v001"
    / "left"
    / sorted(p.name for p in (DATA / "speech_commands_v001" / "left").glob("*.wav"))[0],
    DATA / "ravdess" / "Actor_02" / "03-01-03-01-01-01-02.wav",
    DATA / "instruments" / "cello" / "tonejs_cello_A2.wav",
]


def test_chromium_software_canvas_draws_as_mipmap_bilinear(tmp_path):
    figures = {}
    for i, path in enumerate(CLIPS):
        clip = read_wav(path)
        samples = compat_window(clip, COMPAT) * 32768
        (tmp_path / f"{i}.png").write_bytes(real_matplotlib_png_bytes(samples, clip.rate))
        figures[i] = real_matplotlib_png(samples, clip.rate)
    (tmp_path / "blank.html").write_text("<!doctype html><title>canvas</title>")
    with Browser(tmp_path, timeout=60) as browser:
        browser.open("blank.html", wait=False)
        drawn = {
            i: np.array(browser.execute(FROM_PIXELS, f"{i}.png"), dtype=np.uint8).reshape(200, 200, 4) for i in figures
        }
    for i, figure in figures.items():
        chromium = drawn[i][..., :3]
        assert (drawn[i][..., 3] == 255).all()
        mine = canvas.draw(figure, 200, downscale="mipmap-bilinear")
        assert np.array_equal(mine, chromium), f"{CLIPS[i].name}: {np.abs(mine.astype(int) - chromium).max()}"
        # what pac assumed before differs on almost every pixel
        old = canvas.draw(figure, 200, downscale="centre")
        assert (np.abs(old.astype(int) - chromium).max(axis=2) > 0).mean() > 0.9
