"""NumPy layers with hand-written forward and backward passes: NHWC, float32, vectorised.

Each layer has `forward(x, training)` and `backward(dy, need_dx)`; `backward` writes the
gradients of the layer's parameters into `grads` (arrays the network hands it, views of one flat
buffer) and returns the gradient of the input, or None when `need_dx` is false (nothing below
needs it: the first trained layer skips that work). A layer keeps what its backward needs from
the last training forward, so one forward is followed by at most one backward.

Conventions match the other frameworks exactly: conv kernels HWIO and dense kernels (in, out)
(Keras's layouts, as `models.initial` draws them); "same" padding is Keras/TF's (the extra pixel
after, `models.flops.same_padding`); Flatten uses Keras's (H, W, C) order; max pooling sends a
window's gradient to its first maximum (row-major), as PyTorch does; Dropout is inverted dropout
(kept elements scaled by 1 / (1 - rate)) from a seeded generator.

A convolution is im2col — `sliding_window_view` of the padded input copied once into a
(samples·pixels, k·k·C) matrix kept for backward — and one matmul; its input gradient is one
matmul and k·k strided slice additions (col2im). No Python loop runs over samples or pixels.

The seed assignment's operations on a single image are here too: `conv_matrix` (2-D
convolution of a matrix by a kernel), `box_blur`, `maxpool` and `flatten`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.flops import same_padding

F32 = np.float32


def padding_pair(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(before, after) padding along one axis: none for "valid", Keras/TF's for "same"."""
    return (0, 0) if padding == "valid" else same_padding(size, kernel, stride)


def column_sums(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The sum of each column of a 2-D array into `out`, as a matrix-vector product: BLAS does
    it many times faster than `np.sum(axis=0)` when rows are short (a bias gradient)."""
    return np.matmul(np.ones(len(a), F32), a, out=out)


def _pad(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
    """`x` padded by (before, after) on each axis with `value` (the array itself if no padding)."""
    return np.pad(x, pads, constant_values=value) if any(a or b for a, b in pads) else x


# --- the seed assignment's single-image operations ---------------------------------------------


def conv_matrix(image: np.ndarray, kernel: np.ndarray, padding: str = "valid") -> np.ndarray:
    """2-D convolution of a matrix (H, W) by a kernel (kh, kw), as deep learning defines it
    (cross-correlation: the kernel is not flipped). "valid" keeps the H−kh+1 × W−kw+1 positions
    where the kernel fits; "same" pads with zeros (Keras's split) to keep H × W."""
    kh, kw = kernel.shape
    pads = (
        padding_pair(image.shape[0], kh, 1, padding),
        padding_pair(image.shape[1], kw, 1, padding),
    )
    windows = sliding_window_view(_pad(np.asarray(image), pads, 0.0), (kh, kw))
    return np.tensordot(windows, kernel, axes=2)


def box_blur(image: np.ndarray, size: int = 3, padding: str = "valid") -> np.ndarray:
    """The mean of each size × size neighbourhood: `conv_matrix` with a kernel of 1/size²."""
    return conv_matrix(image, np.full((size, size), 1.0 / size**2), padding)


def maxpool(image: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling of an (H, W) or (H, W, C) image, "valid" (floor): the maximum of each
    size × size window, windows `stride` apart (default `size`)."""
    stride = stride or size
    windows = sliding_window_view(image, (size, size), axis=(0, 1))[::stride, ::stride]
    return windows.max(axis=(-2, -1))


def flatten(image: np.ndarray) -> np.ndarray:
    """An image as one vector in (H, W, C) order, as Keras's Flatten orders NHWC data."""
    return np.asarray(image).reshape(-1)


# --- layers -------------------------------------------------------------------------------------


class Windowed:
    """Square windows (a conv kernel, a pooling window) sliding over NHWC input: the padding,
    the output size, each window offset's strided slices, and scratch arrays kept across steps
    (a fresh large array every step would cost its page faults every step)."""

    def __init__(self, size: int, stride: int, padding: str, in_shape: tuple[int, ...]) -> None:
        h, w, _ = in_shape
        self.size, self.stride, self.in_shape = size, stride, in_shape
        self.pads = (padding_pair(h, size, stride, padding), padding_pair(w, size, stride, padding))
        self.padded = (h + sum(self.pads[0]), w + sum(self.pads[1]))
        self.ho = (self.padded[0] - size) // stride + 1
        self.wo = (self.padded[1] - size) // stride + 1
        self._buffers: dict[tuple[str, int], np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], fill: float = 0.0) -> np.ndarray:
        """A scratch array, filled with `fill` when first made, one per name and batch size."""
        buf = self._buffers.get((name, shape[0]))
        if buf is None:
            buf = self._buffers[(name, shape[0])] = np.full(shape, fill, F32)
        return buf

    def _offset(self, i: int, j: int) -> tuple[slice, slice]:
        """Rows and columns of the padded input that window offset (i, j) covers."""
        s = self.stride
        return slice(i, i + s * (self.ho - 1) + 1, s), slice(j, j + s * (self.wo - 1) + 1, s)

    def _crop(self, dxp: np.ndarray) -> np.ndarray:
        """The padded input's gradient without the padding."""
        (top, _), (left, _) = self.pads
        h, w, _ = self.in_shape
        return dxp[:, top : top + h, left : left + w]


class Conv2D(Windowed):
    """2-D convolution, HWIO kernel, any stride, "same" (Keras/TF) or "valid" padding."""

    def __init__(
        self, params: list[np.ndarray], stride: int, padding: str, in_shape: tuple[int, ...]
    ) -> None:
        super().__init__(params[0].shape[0], stride, padding, in_shape)
        self.params, self.grads = params, [np.empty_like(p) for p in params]
        self.c, self.f = params[0].shape[2:]
        self.rows = self.size * self.size * self.c  # the kernel's rows: k·k·C
        self.bias = len(params) > 1
        # The kernel's rows, then the bias: one matmul with im2col's column of ones adds it.
        self.weights = np.empty((self.rows + self.bias, self.f), F32)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        (top, _), (left, _) = self.pads
        if (len(x), *self.padded) == x.shape[:3]:
            return x
        xp = self._buffer("xp", (len(x), *self.padded, self.c))  # its borders stay zero
        xp[:, top : top + x.shape[1], left : left + x.shape[2]] = x
        return xp

    def _im2col(self, x: np.ndarray) -> np.ndarray:
        """(samples·pixels, k·k·C [+ 1]): each output pixel's receptive field in (kh, kw, C)
        order, the HWIO kernel's row order, then (with a bias) a column that stays 1."""
        n, k, s = len(x), self.size, self.stride
        xp = self._padded(x)
        cols = self._buffer("cols", (n, self.ho, self.wo, self.rows + self.bias), fill=1.0)
        patches = cols[..., : self.rows].reshape(n, self.ho, self.wo, k, k, self.c)  # a view
        if self.c == 1:  # one channel: k·k strided copies beat one with a 1-long inner axis
            for i in range(k):
                for j in range(k):
                    patches[:, :, :, i, j] = xp[:, *self._offset(i, j)]
        else:
            windows = sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
            np.copyto(patches, windows.transpose(0, 1, 2, 4, 5, 3))
        return cols.reshape(-1, self.rows + self.bias)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        cols = self._im2col(x)
        self.weights[: self.rows] = self.params[0].reshape(self.rows, self.f)
        if self.bias:
            self.weights[self.rows] = self.params[1]
        out = cols @ self.weights
        self.cols = cols if training else None
        return out.reshape(len(x), self.ho, self.wo, self.f)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        n, k, c = len(dy), self.size, self.c
        dy = dy.reshape(-1, self.f)
        np.matmul(self.cols[:, : self.rows].T, dy, out=self.grads[0].reshape(self.rows, self.f))
        if self.bias:
            column_sums(dy, self.grads[1])
        if not need_dx:
            return None
        # One batched matmul: each kernel offset's (samples·pixels, C) slab, contiguous.
        kernel_t = self.params[0].reshape(k * k, c, self.f).transpose(0, 2, 1)
        slabs = np.matmul(dy, kernel_t).reshape(k, k, n, self.ho, self.wo, c)
        dxp = self._buffer("dxp", (n, *self.padded, c))
        dxp.fill(0)
        for i in range(k):  # col2im: one strided slice per kernel offset
            for j in range(k):
                dxp[:, *self._offset(i, j)] += slabs[i, j]
        return self._crop(dxp)


class MaxPool2D(Windowed):
    """Max pooling, square window, any stride, "valid" or "same" (padding never wins)."""

    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []

    def __init__(self, size: int, stride: int, padding: str, in_shape: tuple[int, ...]) -> None:
        super().__init__(size, stride, padding, in_shape)
        # Windows tiling the (padded) input exactly: every element belongs to one window.
        self.tiles = stride == size and (self.ho * size, self.wo * size) == self.padded
        self.tied = False  # a window had tied maxima (after a ReLU: zeros): skip the fast path

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        xp = _pad(x, ((0, 0), *self.pads, (0, 0)), -np.inf)
        offsets = [self._offset(i, j) for i in range(self.size) for j in range(self.size)]
        out = xp[:, *offsets[0]].copy()
        for rows, cols in offsets[1:]:
            np.maximum(out, xp[:, rows, cols], out=out)
        self.saved = (xp, out) if training else None
        return out

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        xp, out = self.saved
        dxp = self._buffer("dxp", xp.shape)
        if not (self.tiles and not self.tied and self._tiled_backward(xp, out, dy, dxp)):
            self._offsets_backward(xp, out, dy, dxp)
        return self._crop(dxp)

    def _tiled_backward(self, xp: np.ndarray, out: np.ndarray, dy: np.ndarray, dxp: Any) -> bool:
        """Windows tiling the input, no window with tied maxima: one broadcast mask and product
        (False, nothing written, where some window has ties)."""
        n, p, (_, ho, wo, c) = len(xp), self.size, out.shape
        hit = xp.reshape(n, ho, p, wo, p, c) == out[:, :, None, :, None, :]
        if np.count_nonzero(hit) > out.size:
            self.tied = True
            return False
        np.multiply(hit, dy[:, :, None, :, None, :], out=dxp.reshape(n, ho, p, wo, p, c))
        return True

    def _offsets_backward(self, xp: np.ndarray, out: np.ndarray, dy: np.ndarray, dxp: Any) -> None:
        """Offset by offset, in row-major order, each window's first maximum takes its gradient."""
        if not self.tiles:  # some elements get no gradient, or several
            dxp.fill(0)
        free = np.ones(out.shape, bool)  # windows whose first maximum is not yet found
        hit = np.empty(out.shape, bool)
        offsets = [self._offset(i, j) for i in range(self.size) for j in range(self.size)]
        for rows, cols in offsets:  # in row-major order: each window's first maximum wins
            np.equal(xp[:, rows, cols], out, out=hit)
            hit &= free
            free ^= hit
            if self.stride >= self.size:  # windows do not overlap: each element set at most once
                np.multiply(dy, hit, out=dxp[:, rows, cols])
            else:
                dxp[:, rows, cols] += dy * hit


class ReLU:
    """max(x, 0); the gradient passes where the output is positive (as PyTorch's)."""

    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        y = np.maximum(x, 0)
        self.positive = y > 0 if training else None
        return y

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        return dy * self.positive if need_dx else None


class Flatten:
    """(N, H, W, C) → (N, H·W·C) in (H, W, C) order: Keras's order for NHWC data."""

    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []

    def __init__(self, in_shape: tuple[int, ...]) -> None:
        self.in_shape = in_shape

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return x.reshape(len(x), -1)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        return dy.reshape(len(dy), *self.in_shape) if need_dx else None


class Dense:
    """x @ kernel (+ bias), kernel (in, out)."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params, self.grads = params, [np.empty_like(p) for p in params]

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        y = x @ self.params[0]
        if len(self.params) > 1:
            y += self.params[1]
        self.x = x if training else None
        return y

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        np.matmul(self.x.T, dy, out=self.grads[0])
        if len(self.params) > 1:
            column_sums(dy, self.grads[1])
        return dy @ self.params[0].T if need_dx else None


class Dropout:
    """Inverted dropout in training (each element kept with probability 1 − rate, kept ones
    scaled by 1 / (1 − rate)), the identity in inference."""

    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate, self.rng = rate, rng

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=F32) >= self.rate
        self.mask = keep * F32(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        return dy if self.mask is None else dy * self.mask


class GlobalAvgPool:
    """Mean over H and W: (N, H, W, C) → (N, C)."""

    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []

    def __init__(self, in_shape: tuple[int, ...]) -> None:
        self.in_shape = in_shape

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return x.mean(axis=(1, 2), dtype=F32)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        h, w, c = self.in_shape
        scaled = dy / F32(h * w)
        return np.broadcast_to(scaled[:, None, None, :], (len(dy), h, w, c))
