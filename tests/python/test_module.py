"""`import mert` (python/): the same numbers as the `mert` CLI, the documented shapes, Python
exceptions for bad input, the GIL released while computing, and `torch` in the same process.

Needs MERT_BIN (the CLI) and the module on PYTHONPATH (build/python); ctest sets both.
Run by hand: PYTHONPATH=build/python MERT_BIN=build/mert python3 -m pytest -q tests/python
"""
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch  # first on purpose: Debian's torch and mert share the system libtorch

import mert

MERT = os.environ.get("MERT_BIN", "build/mert")


def cli(*args):
    p = subprocess.run([MERT, *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("pymert")
    cli("init", "-o", w / "tiny", "--preset", "tiny", "--seed", "3")
    cli("gen-audio", "-o", w / "clip24.wav", "--sec", 7, "--sr", 24000, "--seed", 1)
    cli("gen-audio", "-o", w / "clip44.wav", "--sec", 5, "--sr", 44100, "--seed", 2)
    return w


@pytest.fixture(scope="session")
def model(work):
    return mert.Model(str(work / "tiny"), threads=2)


def cli_embed(work, clip, out, *args):
    cli("embed", "-m", work / "tiny", work / clip, "-o", work / out, *args)
    return np.load(work / out / (os.path.splitext(clip)[0] + ".npy"))


# ---- the same numbers as the CLI ----

@pytest.mark.parametrize("args,kw", [
    ([], {}),
    (["--pool", "none"], {"pool": "none"}),
    (["--pool", "chunks", "--chunk-sec", "2", "--hop-sec", "1.5"], {"pool": "chunks", "chunk_sec": 2.0, "hop_sec": 1.5}),
    (["--layers", "0,2", "--chunk-sec", "0"], {"layers": [0, 2], "chunk_sec": 0}),
    (["--pool", "none", "--chunk-sec", "3", "--batch", "2"], {"pool": "none", "chunk_sec": 3.0, "batch": 2}),
])
def test_embed_file_equals_cli(work, model, args, kw):
    want = cli_embed(work, "clip24.wav", "out-" + "-".join(a.strip("-") for a in args), *args)
    got = model.embed_file(str(work / "clip24.wav"), **kw)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got, want)


def test_embed_waveform_equals_cli_with_resampling(work, model):
    want = cli_embed(work, "clip44.wav", "out44", "--pool", "none")
    wave = mert.load_audio(str(work / "clip44.wav"), 44100)
    assert wave.dtype == np.float32 and wave.shape == (5 * 44100,)
    got = model.embed(wave, 44100, pool="none")  # resampled to 24 kHz inside, as the CLI does
    assert np.array_equal(got, want)
    assert np.array_equal(model.embed(wave.astype(np.float64), 44100, pool="none"), want)


@pytest.mark.parametrize("dtype", ["bf16", "int8"])
def test_other_dtypes_equal_cli(work, dtype):
    m = mert.Model(str(work / "tiny"), dtype=dtype, threads=2)
    assert m.dtype == dtype
    want = cli_embed(work, "clip24.wav", "out-" + dtype, "--dtype", dtype)
    assert np.array_equal(m.embed_file(str(work / "clip24.wav")), want)


@pytest.mark.parametrize("name", ["cqt", "mfcc", "logmel", "chroma"])
def test_features_equal_cli(work, name):
    cli("features", "--type", name, "-o", work / ("f-" + name), work / "clip24.wav")
    want = np.load(work / ("f-" + name) / "clip24.npy")
    wave = mert.load_audio(str(work / "clip24.wav"), 24000)
    got = getattr(mert.features, name)(wave, 24000)
    assert got.dtype == np.float32 and np.array_equal(got, want)


# ---- shapes and properties ----

def test_shapes(model):
    cfg = model.config
    L, H = cfg["num_hidden_layers"] + 1, cfg["hidden_size"]
    assert (model.num_layers, model.hidden_size, model.sample_rate) == (L, H, 24000)
    wave = np.sin(np.arange(3 * 24000) * 2 * np.pi * 440 / 24000).astype(np.float32) * 0.3
    frames = 3 * 75 - 1  # the conv front end: (3 s * 24000 - 400) // 320 + 1
    assert model.embed(wave, 24000).shape == (L, H)
    assert model.embed(wave, 24000, pool="none").shape == (L, frames, H)
    assert model.embed(wave, 24000, pool="chunks", chunk_sec=1.0).shape == (L, 3, H)
    assert model.embed(wave, 24000, layers=1).shape == (1, H)
    assert model.embed(wave, 24000, layers="0,2").shape == (2, H)
    assert np.array_equal(model.embed(wave, 24000, layers=[2])[0], model.embed(wave, 24000)[2])
    assert mert.features.cqt(wave, 24000).shape == (frames, 336)
    assert mert.features.mfcc(wave, 24000, grid="native").shape[1] == 39
    assert "tiny" in repr(model) and isinstance(model.preprocessor_config, dict)
    assert mert.__version__ and "mert" in mert.build_info


# ---- bad input: Python exceptions, never a crash ----

def test_bad_input(work, model):
    wave = np.zeros(24000, np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        model.embed(np.zeros(24000, np.int16), 24000)
    with pytest.raises(TypeError, match="numpy array"):
        model.embed([0.0] * 24000, 24000)
    with pytest.raises(ValueError, match="1-D mono"):
        model.embed(np.zeros((2, 24000), np.float32), 24000)
    nan = wave.copy()
    nan[100] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.embed(nan, 24000)
    with pytest.raises(ValueError, match="sample_rate"):
        model.embed(wave, 0)
    with pytest.raises(mert.Error, match="shorter than the model's receptive field|no frame"):
        model.embed(np.zeros(100, np.float32), 24000)
    with pytest.raises(mert.Error, match="no such file"):
        model.embed_file(str(work / "missing.wav"))
    with pytest.raises(mert.Error):
        model.embed(wave, 24000, layers=99)
    with pytest.raises(mert.Error):
        model.embed(wave, 24000, pool="max")
    with pytest.raises(TypeError):
        model.embed(wave, 24000, layers=[0.5])
    with pytest.raises(mert.Error):
        mert.Model(str(work / "missing-model"))
    with pytest.raises(mert.Error):
        mert.Model(str(work / "tiny"), dtype="fp8")
    with pytest.raises(ValueError, match="grid"):
        mert.features.cqt(wave, 24000, grid="weird")
    assert issubclass(mert.Error, RuntimeError)
    garbage = work / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(mert.Error, match="garbage.wav"):
        mert.load_audio(str(garbage), 24000)


def test_decoder_caveat_is_a_warning(work, model):
    data = (work / "clip24.wav").read_bytes()
    (work / "short.wav").write_bytes(data[:-400])  # 100 float samples short of its header: 4 ms
    with pytest.warns(UserWarning, match="short.wav"):
        emb = model.embed_file(str(work / "short.wav"))
    assert emb.shape == (model.num_layers, model.hidden_size)
    with pytest.warns(UserWarning, match="missing"):
        mert.load_audio(str(work / "short.wav"), 24000)


# ---- the GIL is released while computing ----

def test_gil_released_two_threads(work):
    models = [mert.Model(str(work / "tiny"), threads=1) for _ in range(2)]
    wave = mert.load_audio(str(work / "clip24.wav"), 24000)
    wave = np.tile(wave, 6)  # 42 s
    alone = models[0].embed(wave, 24000, pool="none")
    results = [None, None]

    def run(i):
        results[i] = models[i].embed(wave, 24000, pool="none")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    ticks = 0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks += 1  # runs only while neither embed holds the GIL
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert np.array_equal(results[0], alone) and np.array_equal(results[1], alone)
    assert ticks > 20, f"the main thread ran {ticks} times while two embeds ran: the GIL was held"


def test_one_model_shared_by_threads(work, model):
    wave = mert.load_audio(str(work / "clip24.wav"), 24000)
    want = model.embed(wave, 24000)
    out = []
    threads = [threading.Thread(target=lambda: out.append(model.embed(wave, 24000))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 3 and all(np.array_equal(o, want) for o in out)


# ---- torch in the same process ----

def test_torch_round_trip(work, model):
    wave = torch.from_numpy(mert.load_audio(str(work / "clip24.wav"), 24000))
    emb = torch.from_numpy(model.embed(wave.numpy(), 24000, pool="none"))
    assert emb.dtype == torch.float32 and torch.isfinite(emb).all()
    # torch keeps working around mert, and mert after torch has computed.
    lin = torch.nn.Linear(model.hidden_size, 4)
    assert lin(emb[-1]).shape == (emb.shape[1], 4)
    again = model.embed(wave.numpy(), 24000, pool="none")
    assert np.array_equal(again, emb.numpy())


def test_import_chooses_blas_kernels_like_the_cli(work):
    # Told to use weak OpenBLAS kernels, a fresh interpreter's import switches them as `mert` does.
    env = dict(os.environ, OPENBLAS_CORETYPE="Sandybridge")
    env.pop("MERT_BLAS_KERNELS", None)
    code = "import mert; print(mert.system_info())"
    module = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    cli_run = subprocess.run([MERT, "info", "-m", str(work / "tiny")], env=env, capture_output=True, text=True)
    cli_line = next(l for l in cli_run.stderr.splitlines() if l.startswith("system:"))
    blas = lambda line: line.split("| BLAS ")[1].strip()
    assert blas(module.stdout) == blas(cli_line)
    if "OpenBLAS" in cli_line and "Sandybridge kernels" not in cli_line:
        assert "(chosen by mert; OPENBLAS_CORETYPE=Sandybridge)" in module.stdout, module.stdout
