"""The speech base (pac.speech_base, extension/js/speech_net.js) on the real weights and real clips.

The reference is onnxruntime running openWakeWord's own ONNX files from ../shared/models: its
melspectrogram.onnx makes the log-mel frames of real recordings (16 kHz, int16 scale, then
x / 10 + 2, 76-frame windows every 8 frames: openWakeWord's pipeline), its embedding_model.onnx the
embeddings the rebuilt network must reproduce.  Downloads are served from 127.0.0.1, a file:// URL
or a local pip --find-links folder; nothing goes to the internet.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import os
import shutil
import socketserver
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_DIR, DATA, SHARED
from pac import speech_base as S
from pac.audio import decode_wav
from pac.errors import PacError

SPEECH_DIR = SHARED / "models" / "speech_embedding"
HOP = 8


# -- real frames -----------------------------------------------------------------------------------


def clips() -> list[Path]:
    words = [
        sorted((DATA / "speech_commands_v001" / w).glob("*.wav"))[i]
        for w in ("yes", "no", "seven", "stop", "left", "off")
        for i in (0, 5)
    ]
    sentences = (
        sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[::12]
        + sorted((DATA / "ravdess" / "Actor_02").glob("*.wav"))[5::12]
    )
    return words + sentences


@pytest.fixture(scope="module")
def ort_sessions():
    import onnxruntime as ort  # the test extra: the reference; a missing one fails, never skips

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1

    def session(name):
        return ort.InferenceSession(str(SPEECH_DIR / name), options, providers=["CPUExecutionProvider"])

    return session("melspectrogram.onnx"), session("embedding_model.onnx")


@pytest.fixture(scope="module")
def frames(ort_sessions) -> np.ndarray:
    """float32 [n, 76, 32] windows of 20 real clips (Speech Commands words, RAVDESS sentences)."""
    mel, _ = ort_sessions
    windows = []
    for path in clips():
        audio = decode_wav(path.read_bytes(), name=str(path))
        assert audio.rate == 16000
        x = audio.samples if audio.samples.ndim == 1 else audio.samples.mean(axis=1)
        x = np.pad(x, (0, max(0, 16000 - len(x)))) * 32767
        spec = np.squeeze(mel.run(None, {"input": x.astype(np.float32)[None]})[0]) / 10 + 2
        windows += [spec[i : i + S.INPUT_FRAMES] for i in range(0, len(spec) - S.INPUT_FRAMES + 1, HOP)]
    out = np.stack(windows).astype(np.float32)
    assert out.shape[1:] == (S.INPUT_FRAMES, S.INPUT_BANDS) and len(out) > 100
    return out


@pytest.fixture(scope="module")
def network() -> S.SpeechNetwork:
    return S.read_speech_network(SPEECH_DIR)


def relative(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# -- the network -------------------------------------------------------------------------------------


def test_rebuilt_network_matches_onnxruntime(network, frames, ort_sessions):
    _, embedding = ort_sessions
    expected = embedding.run(None, {"input_1": frames[..., None]})[0].reshape(-1, S.EMBEDDING_SIZE)
    got = S.SpeechEmbedding(network)(frames)
    assert got.shape == (len(frames), S.EMBEDDING_SIZE) and got.dtype == np.float32
    print(
        f"\nfloat network vs onnxruntime on {len(frames)} windows: relative {relative(got, expected):.2e}, "
        f"max |diff| {np.abs(got - expected).max():.2e} (max |embedding| {np.abs(expected).max():.1f})"
    )
    assert relative(got, expected) <= 1e-5
    # [n, 76, 32, 1] and [n, 76, 32] are the same input; the batch size only changes float32 rounding.
    assert relative(S.SpeechEmbedding(network)(frames[:5, ..., None], batch_size=2), got[:5]) <= 1e-6


def test_network_structure(network):
    kinds = [kind for kind, _ in network.ops]
    assert kinds.count("conv") == 20 and kinds.count("max_pool") == 5 and kinds.count("affine") == 1
    assert kinds[:5] == ["conv", "relu", "affine", "leaky_relu", "maximum"]
    first = network.ops[0][1]
    # The ONNX Pad (one zero column each side of the bands) became the first conv's padding.
    assert first["padding"] == [[0, 0], [1, 1]] and first["kernel"].shape == (3, 3, 1, 24) and first["bias"] is None
    assert network.ops[-1][1]["kernel"].shape == (3, 1, 96, 96) and network.ops[-1][1]["bias"] is None
    assert S.op_shapes(network)[-1][1] == (1, 1, 96)
    assert {p["alpha"] for k, p in network.ops if k == "leaky_relu"} == {float(np.float32(0.2))}
    assert {p["value"] for k, p in network.ops if k == "maximum"} == {float(np.float32(-0.4))}
    assert network.sha256 == S.network_sha256() == S.speech_identity(quantized=True)["sha256"]


def test_8bit_network_is_close_and_deterministic(network, frames):
    quantized = network.quantized()
    assert quantized.weights == "uint8" and quantized.quantized() is quantized
    floats = S.SpeechEmbedding(network)(frames)
    eight = S.SpeechEmbedding(quantized)(frames)
    rel, worst = relative(eight, floats), float(np.abs(eight - floats).max())
    cosine = np.sum(eight * floats, axis=1) / np.linalg.norm(eight, axis=1) / np.linalg.norm(floats, axis=1)
    print(
        f"\n8-bit vs float on {len(frames)} windows: relative L2 {rel:.2e}, max |diff| {worst:.2f} "
        f"(max |embedding| {np.abs(floats).max():.1f}), min cosine {cosine.min():.5f}"
    )
    assert 1e-4 < rel <= 0.03  # measured 1.4e-2 (the weights did change, but little)
    assert cosine.min() >= 0.999  # measured 0.99973

    again = S.read_speech_network(SPEECH_DIR).quantized()
    convs = [(p, q) for (k, p), (_, q) in zip(quantized.ops, again.ops) if k == "conv"]
    for p, q in convs:
        assert p["kernel"].tobytes() == q["kernel"].tobytes()
    # The first convolution stays float32; every other kernel is 8-bit per output channel.
    originals = [p for k, p in network.ops if k == "conv"]
    assert "quantization" not in convs[0][0] and convs[0][0]["kernel"] is originals[0]["kernel"]
    for (p, _), original in zip(convs[1:], originals[1:]):
        quant = p["quantization"]
        assert quant["q"].dtype == np.uint8 and quant["min"].shape == (original["kernel"].shape[-1],)
        np.testing.assert_array_equal(p["kernel"], S.dequantize_kernel(quant["q"], quant["min"], quant["scale"]))
        step = np.abs(p["kernel"] - original["kernel"]).reshape(-1, quant["scale"].size).max(axis=0)
        assert np.all(step <= quant["scale"] * 0.5 + 1e-6)
        assert p["bias"] is original["bias"]


def test_dequantization_is_float32_arithmetic():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 1, 8, 5)).astype(np.float32)
    kernel[..., 4] = 0.25  # a constant channel: scale 0, exact
    q, minimum, scale = S.quantize_kernel(kernel)
    assert scale[4] == 0 and np.all(q[..., 4] == 0)
    w = S.dequantize_kernel(q, minimum, scale)
    explicit = np.empty_like(kernel)
    for index in np.ndindex(kernel.shape):
        c = index[-1]
        explicit[index] = np.float32(minimum[c]) + np.float32(np.float32(q[index]) * np.float32(scale[c]))
    assert w.tobytes() == explicit.tobytes()
    assert w[..., 4].tolist() == kernel[..., 4].tolist()
    assert np.abs(w - kernel).max() <= scale.max() / 2 + 1e-6


def test_parse_refuses_other_graphs():
    import onnx

    original = onnx.load(str(SPEECH_DIR / "embedding_model.onnx"))

    def refused(change, match="not the speech_embedding network"):
        model = onnx.ModelProto()
        model.CopyFrom(original)
        change(model.graph)
        with pytest.raises(PacError, match=match) as info:
            S.parse_onnx(model.SerializeToString(), path="edited.onnx")
        assert "edited.onnx" in str(info.value) and "\n" not in str(info.value)

    def op_type(index, new):
        return lambda g: setattr(g.node[index], "op_type", new)

    refused(op_type(5, "Sigmoid"))  # a LeakyRelu becomes something else
    refused(lambda g: g.node.remove(g.node[9]))  # a link of the chain is missing
    refused(lambda g: g.node[7].attribute.append(onnx.helper.make_attribute("group", 2)))
    refused(
        lambda g: g.initializer[[t.name for t in g.initializer].index("new_shape__315")].CopyFrom(
            onnx.numpy_helper.from_array(np.array([-1, 76, 34, 1], np.int64), "new_shape__315")
        )
    )
    refused(lambda g: g.node[-1].input.__setitem__(0, g.node[-3].output[0]))  # skips the last Conv
    with pytest.raises(PacError, match="not a readable ONNX file"):
        S.parse_onnx(b"\x08\x07garbage" * 10, path="x.onnx")


# -- resolution and download -------------------------------------------------------------------------


@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PAC_CACHE_DIR", str(root))
    monkeypatch.delenv(S.ENV_DIR, raising=False)
    monkeypatch.delenv(S.ENV_URL, raising=False)
    assert S.cache_dir() == root / "speech_embedding"
    return root


def make_wheel(path: Path) -> str:
    """A wheel holding the two real ONNX files (not the published wheel); returns its sha256."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name, data):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)

        add("openwakeword/__init__.py", "")
        for name in S.FILES:
            add(S.WHEEL_MODELS + name, (SPEECH_DIR / name).read_bytes())
        info = "openwakeword-0.4.0.dist-info/"
        add(info + "METADATA", "Metadata-Version: 2.1\nName: openwakeword\nVersion: 0.4.0\n")
        add(info + "WHEEL", "Wheel-Version: 1.0\nGenerator: pac-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        add(info + "RECORD", "")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def served_wheel(tmp_path):
    """(url, sha256) of a test wheel served by a local HTTP server on 127.0.0.1."""
    folder = tmp_path / "served"
    folder.mkdir()
    digest = make_wheel(folder / S.WHEEL_NAME)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{S.WHEEL_NAME}", digest
    finally:
        server.shutdown()
        server.server_close()


def point_at_a_copy(message: str) -> bool:
    return "--speech-base DIR" in message and S.ENV_DIR in message and "embedding_model.onnx" in message


def test_explicit_folder_env_and_cache(cache_root, tmp_path, monkeypatch):
    assert S.resolve_speech_dir(SPEECH_DIR, download=False) == SPEECH_DIR
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(SPEECH_DIR / "embedding_model.onnx", half)
    with pytest.raises(PacError, match="no melspectrogram.onnx here .given by --speech-base"):
        S.resolve_speech_dir(half)
    monkeypatch.setenv(S.ENV_DIR, str(SPEECH_DIR))
    assert S.resolve_speech_dir(download=False) == SPEECH_DIR
    monkeypatch.setenv(S.ENV_DIR, str(half))
    assert S.resolve_speech_dir(SPEECH_DIR, download=False) == SPEECH_DIR  # the option wins
    with pytest.raises(PacError, match=f"given by {S.ENV_DIR}"):
        S.resolve_speech_dir(download=False)
    monkeypatch.delenv(S.ENV_DIR)
    shutil.copytree(SPEECH_DIR, S.cache_dir())
    assert S.resolve_speech_dir(download=False) == S.cache_dir()


def test_offline_without_a_copy_says_how_to_point_at_one(cache_root, monkeypatch, tmp_path):
    with pytest.raises(PacError) as info:
        S.resolve_speech_dir(download=False)
    assert point_at_a_copy(str(info.value)) and "openwakeword 0.4.0" in str(info.value)
    for url in ((tmp_path / "missing.whl").as_uri(), "http://127.0.0.1:9/openwakeword.whl"):
        monkeypatch.setenv(S.ENV_URL, url)
        with pytest.raises(PacError, match="cannot download the speech embedding") as info:
            S.resolve_speech_dir(progress=lambda done, total: None)
        assert point_at_a_copy(str(info.value)) and "\n" not in str(info.value)
    monkeypatch.setenv(S.ENV_URL, "ftp://example.invalid/x.whl")
    with pytest.raises(PacError, match="must be an http.s. or file URL"):
        S.resolve_speech_dir(progress=lambda done, total: None)
    # pip finds no such distribution (an empty local index stands in for being offline)
    monkeypatch.delenv(S.ENV_URL)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(PacError, match="with pip: .*No matching distribution") as info:
        S.resolve_speech_dir(progress=lambda done, total: None)
    assert point_at_a_copy(str(info.value))
    assert not cache_root.exists() or not any(cache_root.iterdir())


def test_a_wheel_with_another_sha256_is_refused(cache_root, served_wheel, capsys, monkeypatch):
    url, _ = served_wheel
    monkeypatch.setenv(S.ENV_URL, url)
    with pytest.raises(PacError, match="sha256 does not match the pinned openwakeword-0.4.0") as info:
        S.resolve_speech_dir()
    assert url in str(info.value)
    assert "downloading the speech embedding (openwakeword 0.4.0 wheel, 9.3 MB)" in capsys.readouterr().err
    assert not cache_root.exists() or not any(cache_root.iterdir())  # nothing written, no staging left


def test_download_installs_the_verified_files(cache_root, served_wheel, monkeypatch):
    url, digest = served_wheel
    calls = []
    target = S.download_speech(S.cache_dir(), url=url, wheel_sha256=digest, progress=lambda *a: calls.append(a))
    assert target == S.cache_dir()
    assert sorted(p.name for p in target.iterdir()) == sorted(S.FILES)
    for name in S.FILES:
        assert (target / name).read_bytes() == (SPEECH_DIR / name).read_bytes()
    assert (
        calls[0] == (0, S.WHEEL_BYTES)
        and calls[-1][0] == calls[-1][1] == (cache_root.parent / "served" / S.WHEEL_NAME).stat().st_size
    )
    assert sorted(p.name for p in cache_root.iterdir()) == ["speech_embedding"]  # no staging left
    assert S.resolve_speech_dir(download=False) == target
    assert S.read_speech_network(target).sha256 == S.network_sha256()


def test_download_through_pip(cache_root, tmp_path, monkeypatch):
    """The default source: pip download, here from a local --find-links folder (PIP_* settings)."""
    links = tmp_path / "links"
    links.mkdir()
    digest = make_wheel(links / S.WHEEL_NAME)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    with pytest.raises(PacError, match="sha256 does not match the pinned"):
        S.resolve_speech_dir(progress=lambda *a: None)
    assert not cache_root.exists() or not any(cache_root.iterdir())
    S.download_speech(S.cache_dir(), wheel_sha256=digest, progress=lambda *a: None)
    assert S.resolve_speech_dir(download=False) == S.cache_dir()
    assert (S.cache_dir() / "melspectrogram.onnx").read_bytes() == (SPEECH_DIR / "melspectrogram.onnx").read_bytes()


def test_wheel_contents_are_checked(tmp_path, monkeypatch, cache_root):
    wrong = tmp_path / "wrong.whl"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr(S.WHEEL_MODELS + "embedding_model.onnx", b"not the network")
        archive.writestr(S.WHEEL_MODELS + "melspectrogram.onnx", (SPEECH_DIR / "melspectrogram.onnx").read_bytes())
    with pytest.raises(PacError, match="sha256 of openwakeword/resources/models/embedding_model.onnx in the wheel"):
        S.download_speech(
            S.cache_dir(),
            url=wrong.as_uri(),
            wheel_sha256=hashlib.sha256(wrong.read_bytes()).hexdigest(),
            progress=lambda *a: None,
        )
    missing = tmp_path / "missing.whl"
    with zipfile.ZipFile(missing, "w") as archive:
        archive.writestr("openwakeword/__init__.py", "")
    with pytest.raises(PacError, match="the wheel has no openwakeword/resources/models/embedding_model.onnx"):
        S.download_speech(
            S.cache_dir(),
            url=missing.as_uri(),
            wheel_sha256=hashlib.sha256(missing.read_bytes()).hexdigest(),
            progress=lambda *a: None,
        )
    huge = tmp_path / "huge.whl"
    with open(huge, "wb") as handle:
        handle.truncate(S.MAX_DOWNLOAD_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(PacError, match="larger than 64 MB"):
        S.download_speech(S.cache_dir(), url=huge.as_uri(), progress=lambda *a: None)
    assert not cache_root.exists() or not any(cache_root.iterdir())


def test_a_corrupted_file_is_named(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(SPEECH_DIR, folder)
    os.chmod(folder / "embedding_model.onnx", 0o644)
    data = bytearray((folder / "embedding_model.onnx").read_bytes())
    data[len(data) // 2] ^= 1
    (folder / "embedding_model.onnx").write_bytes(bytes(data))
    with pytest.raises(PacError, match="sha256 does not match speech_embedding's published embedding_model") as info:
        S.read_speech_network(folder)
    assert str(folder / "embedding_model.onnx") in str(info.value)
    with pytest.raises(PacError, match="cannot read"):
        S.read_speech_file(tmp_path, "melspectrogram.onnx")
    assert S.read_speech_file(folder, "melspectrogram.onnx") == (SPEECH_DIR / "melspectrogram.onnx").read_bytes()


def test_load_is_memoised(monkeypatch):
    monkeypatch.setenv(S.ENV_DIR, str(SPEECH_DIR))
    eight = S.load_speech_embedding()
    assert S.load_speech_embedding(SPEECH_DIR) is eight and eight.network.weights == "uint8"
    assert S.load_speech_embedding(quantized=False).network.weights == "float32"
    assert S.speech_identity(quantized=False) == {
        "name": "speech_embedding",
        "sha256": S.network_sha256(),
        "weights": "float32",
    }


# -- export and the page -----------------------------------------------------------------------------


def python_decode(graph: dict, blob: bytes) -> list[np.ndarray]:
    """The kernels an export holds, dequantised as the page does (to check the format itself)."""

    def read(ref):
        dtype = "<f4" if ref["dtype"] == "float32" else np.uint8
        return np.frombuffer(blob, dtype, count=int(np.prod(ref["shape"])), offset=ref["offset"]).reshape(ref["shape"])

    kernels = []
    for op in graph["ops"]:
        if op["op"] == "conv":
            ref = op["kernel"]
            if ref["dtype"] == "uint8":
                quant = ref["quantization"]
                kernels.append(S.dequantize_kernel(read(ref), read(quant["min"]), read(quant["scale"])))
            else:
                kernels.append(read(ref))
    return kernels


def test_export_is_deterministic_and_compact(network):
    files = S.export_files(network.quantized())
    assert files == S.export_files(S.read_speech_network(SPEECH_DIR).quantized())
    graph, blob = S.export_network(network.quantized())
    assert json.loads(files[S.GRAPH_FILE]) == graph and files[S.WEIGHTS_FILE] == blob
    notice = files[S.NOTICE_FILE].decode("ascii")  # the weights never travel without their provenance
    assert "speech_embedding" in notice and "openwakeword 0.4.0" in notice and "CC BY-NC-SA 4.0" in notice
    assert graph["weights"] == "uint8" and graph["weights_bytes"] == len(blob)
    params = network.parameter_count()
    assert len(blob) < 1.1 * params  # ~1 byte per weight (float32: 4)
    assert len(S.export_network(network)[1]) >= 4 * params
    expected = [p["kernel"] for k, p in network.quantized().ops if k == "conv"]
    got = python_decode(graph, blob)
    assert [k.tobytes() for k in got] == [k.tobytes() for k in expected]


BAD_GRAPHS = {
    "unknown-op": (lambda g: g["ops"][1].update(op="sigmoid"), 'unknown op "sigmoid"'),
    "extra-key": (lambda g: g["ops"][0].update(dilation=[2, 2]), "has keys"),
    "offset": (lambda g: g["ops"][5]["kernel"].update(offset=g["weights_bytes"] - 8), "outside the weights"),
    "shape": (lambda g: g["ops"][5].update(output_shape=[74, 32, 25]), "output_shape"),
    "bytes": (lambda g: g.update(weights_bytes=g["weights_bytes"] + 4), "the weights file has"),
    "format": (lambda g: g.update(format_version=2), "not a pac-speech-net version 1 graph"),
    "dtype": (lambda g: g["ops"][2]["scale"].update(dtype="uint8"), "has dtype uint8"),
    "quant": (lambda g: g["ops"][5]["kernel"]["quantization"].update(axis=2), "axis must be 3"),
}

EMBED_JS = """
const [graphUrl, weightsUrl, text, n, done] = arguments;
function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
(async () => {
  const raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const frames = new Float32Array(raw.buffer);
  const net = await PacRuntime.speechNet.load(graphUrl, weightsUrl);
  const before = tf.memory().numTensors;
  const out = net.embed(frames, n);
  const data = await out.data();
  out.dispose();
  const leaked = tf.memory().numTensors - before;
  const input = tf.tensor3d(frames, [n, 76, 32]);
  const again = net.embed(input);
  const same = Array.from(await again.data()).every((v, i) => v === data[i]);
  input.dispose();
  again.dispose();
  const t0 = performance.now();
  net.embed(frames, n).dispose();
  const ms = performance.now() - t0;
  net.dispose();
  const graph = await (await fetch(graphUrl)).json();
  const blob = await (await fetch(weightsUrl)).arrayBuffer();
  const kernels = PacRuntime.speechNet.decode(graph, blob, graphUrl).filter((o) => o.op === 'conv')
    .map((o) => toBase64(new Uint8Array(o.kernel.buffer)));
  return {embeddings: toBase64(new Uint8Array(data.buffer)), same: same, leaked: leaked, ms: ms,
          backend: tf.getBackend(), kernels: kernels};
})().then(done, (e) => done({error: String(e && e.message || e)}));
"""

REJECT_JS = """
const [urls, weightsUrl, done] = arguments;
(async () => {
  const out = {};
  for (const url of urls) {
    try {
      await PacRuntime.speechNet.load(url, weightsUrl);
      out[url] = null;
    } catch (e) {
      out[url] = String(e.message);
    }
  }
  return out;
})().then(done, (e) => done({error: String(e)}));
"""


@pytest.fixture(scope="module")
def speech_page(digits_model, network, tmp_path_factory):
    """A classifier page asset folder (for the digits model) with the 8-bit speech network in it,
    served to one headless Chromium for the module."""
    from pac import runtime
    from pac.browser import Browser

    root = tmp_path_factory.mktemp("served-speech")
    page = root / "page"
    runtime.write_assets(digits_model, page, base_dir=BASE_DIR)
    files = S.export_files(network.quantized())
    for url, data in files.items():
        (page / url).parent.mkdir(parents=True, exist_ok=True)
        (page / url).write_bytes(data)
    for name, (change, _) in BAD_GRAPHS.items():
        graph = json.loads(files[S.GRAPH_FILE])
        change(graph)
        (page / "speech" / f"bad-{name}.json").write_text(json.dumps(graph))
    (page / "speech" / "bad-json.json").write_text("{not json")
    with Browser(root, timeout=120) as browser:
        yield browser


BACKEND_JS = """
const [backend, done] = arguments;
(async () => {
  await window.__pacHarness.waitFor(0, 60000);  // the page's own start-up is over (ready or error)
  if (tf.getBackend() !== backend) {
    if (backend === 'wasm') {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      tf.wasm.setWasmPaths('tfjs/');
    }
    await tf.setBackend(backend);
    await tf.ready();
  }
  return tf.getBackend();
})().then(done, (e) => done('error: ' + e));
"""


def open_page(browser, backend: str) -> None:
    """The classifier page with its scripts loaded on ``backend``; whether its model loads does not matter."""
    browser.open("page/classifier.html", backend=backend, wait=False)
    assert browser.driver.execute_async_script(BACKEND_JS, backend) == backend, browser.console_text()
    assert browser.execute("return !!(window.PacRuntime && window.PacRuntime.speechNet);")


@pytest.mark.slow
@pytest.mark.parametrize("backend, windows", [("wasm", 24), ("cpu", 6)])  # the plain-JS backend is slow
def test_js_embeddings_match_python(speech_page, network, frames, backend, windows):
    chosen = frames[::6][:windows]
    expected = S.SpeechEmbedding(network.quantized())(chosen)
    text = base64.b64encode(chosen.astype("<f4").tobytes()).decode("ascii")
    open_page(speech_page, backend)
    answer = speech_page.driver.execute_async_script(
        EMBED_JS, "speech/graph.json", "speech/weights.bin", text, len(chosen)
    )
    assert "error" not in answer, (answer, speech_page.console_text())
    assert answer["backend"] == backend
    got = np.frombuffer(base64.b64decode(answer["embeddings"]), "<f4").reshape(expected.shape)
    worst = float(np.abs(got - expected).max())
    print(
        f"\nJS ({backend}) vs Python, 8-bit network, {len(chosen)} windows: max |diff| {worst:.2e}, relative "
        f"{relative(got, expected):.2e}; {answer['ms']:.0f} ms for the batch"
    )
    assert relative(got, expected) <= 1e-5
    assert worst <= 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert answer["same"] and answer["leaked"] == 0
    # The page dequantises to exactly Python's float32 kernels.
    expected_kernels = [p["kernel"] for k, p in network.quantized().ops if k == "conv"]
    assert [base64.b64decode(k) for k in answer["kernels"]] == [k.astype("<f4").tobytes() for k in expected_kernels]


@pytest.mark.slow
def test_js_refuses_malformed_graphs(speech_page):
    urls = [f"speech/bad-{name}.json" for name in [*BAD_GRAPHS, "json"]] + ["speech/missing.json"]
    open_page(speech_page, "wasm")
    answer = speech_page.driver.execute_async_script(REJECT_JS, urls, "speech/weights.bin")
    assert "error" not in answer, answer
    for name, (_, message) in BAD_GRAPHS.items():
        url = f"speech/bad-{name}.json"
        assert answer[url] is not None and answer[url].startswith(url + ": "), (name, answer[url])
        assert message in answer[url], (name, answer[url])
    assert "not valid JSON" in answer["speech/bad-json.json"]
    assert "HTTP 404" in answer["speech/missing.json"]
    # Only the URLs it was given: nothing else under speech/ was asked for.
    asked = {p.split("?")[0] for p in speech_page.requested() if "/speech/" in p}
    assert asked <= {f"/page/{u}" for u in [*urls, "speech/weights.bin", "speech/graph.json"]}


def test_one_pass_over_a_sequence_gives_every_windows_embedding():
    """The network is convolutional in time with stride 8: run over a whole clip's log-mel sequence it
    gives the embeddings of the 76-frame windows at frames 0, 8, 16, ... cut out one by one."""
    from pac.features import PROFILES
    from pac.features import speech as F

    speech = S.load_speech_embedding(SPEECH_DIR)
    for path in sorted((DATA / "ravdess" / "Actor_01").glob("*.wav"))[:1]:
        clip = decode_wav(path.read_bytes(), name=str(path))
        sequence = F.speech_sequence(clip.samples, rate=clip.rate, config=PROFILES["default"])
        one_by_one = speech(F.embedding_windows(sequence, hop_frames=8))
        whole = speech.sequence(sequence)
        assert whole.shape == one_by_one.shape and len(whole) > 20
        assert np.abs(whole - one_by_one).max() <= 1e-5 * np.abs(one_by_one).max()
        assert np.array_equal(speech.sequence(sequence, hop_frames=16), whole[::2])
    with pytest.raises(ValueError):
        speech.sequence(sequence[:75])


SEQUENCE_JS = """
const [graphUrl, weightsUrl, b64, nFrames, done] = arguments;
(async () => {
  const net = await PacRuntime.speechNet.load(graphUrl, weightsUrl);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const frames = new Float32Array(bytes.buffer);
  const out = {};
  for (const hop of [8, 16]) {
    const t = net.embedSequence(frames, nFrames, hop);
    const data = new Uint8Array((await t.data()).buffer);
    t.dispose();
    let s = '';
    for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]);
    out[hop] = btoa(s);
  }
  try {
    net.embedSequence(frames, nFrames, 12);
    out.refused = false;
  } catch (e) {
    out.refused = String(e.message);
  }
  net.dispose();
  return out;
})().then(done, (e) => done({error: String(e)}));
"""


@pytest.mark.slow
def test_js_one_pass_over_a_sequence_matches_python(speech_page, network):
    from pac.features import PROFILES
    from pac.features import speech as F

    path = sorted((DATA / "ravdess" / "Actor_02").glob("*.wav"))[0]
    clip = decode_wav(path.read_bytes(), name=str(path))
    sequence = F.speech_sequence(clip.samples[:32000], rate=clip.rate, config=PROFILES["default"])
    python = S.SpeechEmbedding(network.quantized())
    open_page(speech_page, "wasm")
    answer = speech_page.driver.execute_async_script(
        SEQUENCE_JS,
        "speech/graph.json",
        "speech/weights.bin",
        base64.b64encode(sequence.astype("<f4").tobytes()).decode("ascii"),
        len(sequence),
    )
    assert "error" not in answer, answer
    for hop in (8, 16):
        got = np.frombuffer(base64.b64decode(answer[str(hop)]), "<f4").reshape(-1, S.EMBEDDING_SIZE)
        expected = python.sequence(sequence, hop_frames=hop)
        assert got.shape == expected.shape and relative(got, expected) <= 1e-5
    assert "multiple of 8" in answer["refused"]
