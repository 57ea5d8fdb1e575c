"""The speech network read back from its export (pac.speech_base.network_from_export), as pac verify
does with an .aix's speech/ files, and pac's Python classifier running such a network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SPEECH_DIR
from pac import speech_base as S
from pac.errors import PacError


@pytest.fixture(scope="module")
def network():
    return S.read_speech_network(SPEECH_DIR)


def exported(network):
    """``(graph, blob)`` as the page's files hold them (the graph through JSON)."""
    files = S.export_files(network)
    return json.loads(files[S.GRAPH_FILE]), files[S.WEIGHTS_FILE]


@pytest.mark.parametrize("quantized", [True, False])
def test_export_reads_back_to_the_same_network(network, quantized):
    net = network.quantized() if quantized else network
    back = S.network_from_export(*exported(net))
    assert (back.sha256, back.weights) == (net.sha256, net.weights)
    assert S.export_files(back) == S.export_files(net)
    assert [kind for kind, _ in back.ops] == [kind for kind, _ in net.ops]
    for (_, mine), (_, theirs) in zip(back.ops, net.ops):
        for key, value in theirs.items():
            if isinstance(value, np.ndarray):
                assert mine[key].dtype == value.dtype and np.array_equal(mine[key], value), key
            elif key == "quantization":
                assert all(np.array_equal(mine[key][k], value[k]) for k in value)
            else:
                assert mine[key] == value, key


def _change(graph, blob, what):
    graph = json.loads(json.dumps(graph))
    if what == "format":
        graph["format"] = "something-else"
    elif what == "blob":
        blob = blob[:-4] + b"\0\0\0\1"
    elif what == "op":
        graph["ops"][1]["op"] = "softmax"
    elif what == "shape":
        graph["ops"][0]["output_shape"][0] += 1
    elif what == "offset":
        graph["ops"][0]["kernel"]["offset"] = len(blob) + 4
    elif what == "quantization":
        graph["weights"] = "float32"
    return graph, blob


@pytest.mark.parametrize(
    ("what", "says"),
    [
        ("format", "format 'something-else'"),
        ("blob", "does not match the graph's weights_bytes and weights_sha256"),
        ("op", "unknown op 'softmax'"),
        ("shape", "do not follow the chain"),
        ("offset", "outside the weights"),
        ("quantization", "is not per output channel of a uint8 export"),
    ],
)
def test_a_broken_export_is_refused(network, what, says):
    graph, blob = exported(network.quantized())
    with pytest.raises(PacError, match="not a pac-speech-net version 1 export") as caught:
        S.network_from_export(*_change(graph, blob, what))
    assert says in str(caught.value)


def test_classifier_runs_a_given_network(speech_model, network):
    """Classifier(speech_network=...) computes with that network, and refuses one the model did not use."""
    from conftest import fsdd
    from pac.classifier import Classifier

    clips = [fsdd(1, "george", 7), fsdd(9, "george", 8)]
    given = S.network_from_export(*exported(network.quantized()))
    expected = Classifier(speech_model).classify_files(clips)
    assert Classifier(speech_model, speech_network=given).classify_files(clips) == expected
    with pytest.raises(PacError, match="is not the model's"):
        Classifier(speech_model, speech_network=network)  # float32, the model runs uint8
