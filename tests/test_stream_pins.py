"""Stream stability: the values of a fill, for a given (seed, stream, index, dtype, parameters),
never change within a major version, on any CPU path, thread count or sharding.  These SHA-256
pins catch any change to Philox, the element layout or a transform; changing them needs a new
major version (docs/streams.md, CHANGELOG.md).  Regenerate (only then) with
``python tests/test_stream_pins.py``.  orthogonal_ is not pinned: its values come from LAPACK, whose
rounding depends on the BLAS library and the CPU it dispatches to."""
import hashlib

import numpy as np
import pytest

import fastinit

ml_dtypes = pytest.importorskip("ml_dtypes")
DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
N = 4099                       # not a whole number of groups
OFFSETS = (0, 13, 2**33 + 5)   # a non-zero and a > 2**32 offset (block counter's high word)
SEED, STREAM = 20261125, 7
KERNELS = {
    "uniform(-1,2)": (fastinit.uniform_, (-1.0, 2.0)),
    "normal(0.5,2)": (fastinit.normal_, (0.5, 2.0)),
    "trunc(0,1,-2,2)": (fastinit.trunc_normal_, (0.0, 1.0, -2.0, 2.0)),
    "trunc(0,1,2,3)": (fastinit.trunc_normal_, (0.0, 1.0, 2.0, 3.0)),          # tail, float32 probit tail
    "trunc(0,1,12,13)": (fastinit.trunc_normal_, (0.0, 1.0, 12.0, 13.0)),      # float64 for every dtype
    "trunc(0,1,-inf,-20)": (fastinit.trunc_normal_, (0.0, 1.0, -np.inf, -20.0)),
    "trunc(1,2,0.5,0.5001)": (fastinit.trunc_normal_, (1.0, 2.0, 0.5, 0.5001)),  # narrow: series
    "trunc(0,1e15,-2,2)": (fastinit.trunc_normal_, (0.0, 1e15, -2.0, 2.0)),    # narrow, centred
}
SCHEMES = {  # scheme: (shape, params)
    "xavier_uniform_": ((64, 33), {}),
    "kaiming_normal_": ((40, 3, 3, 3), {"mode": "fan_out"}),
    "glorot_normal": ((3, 3, 16, 24), {}),
    "he_uniform": ((50, 41), {}),
    "lecun_normal": ((50, 41), {}),
    "trunc_normal_": ((101, 41), {"std": 0.02}),
    "variance_scaling": ((30, 70), {"scale": 2.0, "mode": "fan_avg", "distribution": "truncated_normal"}),
    "sparse_": ((64, 40), {"sparsity": 0.3}),
    "torch_embedding": ((1000, 17), {}),
}


def kernel_digest(name: str, dtype: str) -> str:
    fn, args = KERNELS[name]
    h = hashlib.sha256()
    for off in OFFSETS:
        h.update(fn(np.empty(N, DTYPES[dtype]), *args, seed=SEED, stream=STREAM, offset=off).view(np.uint8))
    return h.hexdigest()[:32]


def scheme_digest(name: str, dtype: str) -> str:
    shape, params = SCHEMES[name]
    return hashlib.sha256(fastinit.init(shape, name, dtype=DTYPES[dtype], seed=SEED, **params).view(np.uint8)).hexdigest()[:32]


PINS = {
    "uniform(-1,2) float32": "6c687c3e7656f6a8cae8156ea5ecced0",
    "uniform(-1,2) float64": "5d199182418c92dc19538d54d3af9412",
    "uniform(-1,2) float16": "bfe43f315c179e71c602c61f456589ed",
    "uniform(-1,2) bfloat16": "3001304d436ea94092fbb8f53523d4d1",
    "normal(0.5,2) float32": "16f920a8923a707439099f1375eadc1d",
    "normal(0.5,2) float64": "dd6598e9d69f18abb8a55a891fb0291a",
    "normal(0.5,2) float16": "e2d172e93c78eb86002fdf5489d3f3a1",
    "normal(0.5,2) bfloat16": "f9f1bf7c19b700fbbb60b7b91172f193",
    "trunc(0,1,-2,2) float32": "e5984b8233e0a8ba2d5173eeb7b6df60",
    "trunc(0,1,-2,2) float64": "cb3c5ea8b04bcc421fc8ae3ff30cd07e",
    "trunc(0,1,-2,2) float16": "ecef1a7edc233157d1669ea8418720c1",
    "trunc(0,1,-2,2) bfloat16": "b0dffb4ed3a100847c3f4289c856e611",
    "trunc(0,1,2,3) float32": "956fa92b4e376605bdb80d90aae50271",
    "trunc(0,1,2,3) float64": "35994f67556ee227f8ffce42485a78e4",
    "trunc(0,1,2,3) float16": "d5342d9e95b14a743a4706c24d26ae3e",
    "trunc(0,1,2,3) bfloat16": "c90fccd2a60136cb6b8638a3a91d1f05",
    "trunc(0,1,12,13) float32": "b00800cf5c6ef2ef290f13caf035adfc",
    "trunc(0,1,12,13) float64": "c7b7917b323b382ca38703409890de0b",
    "trunc(0,1,12,13) float16": "646018a10b19117d9a8f607b1563c664",
    "trunc(0,1,12,13) bfloat16": "60f42126f7ac906548dd82211aece8d8",
    "trunc(0,1,-inf,-20) float32": "e302b33012bf8652ae5da9824258cb9f",
    "trunc(0,1,-inf,-20) float64": "f499c3e3ba3642a63ba122e4d93040ab",
    "trunc(0,1,-inf,-20) float16": "9aa6e684fbb65364651eb301d984e151",
    "trunc(0,1,-inf,-20) bfloat16": "33cdb5a9dcd5de2898805d63cfa55a1e",
    "trunc(1,2,0.5,0.5001) float32": "b922104f4c269fafc2e6c853750d67a7",
    "trunc(1,2,0.5,0.5001) float64": "121c5e85b313ae783c32cf020c71802c",
    "trunc(1,2,0.5,0.5001) float16": "698e99fe2593aaeb6387c0da1b2d1695",
    "trunc(1,2,0.5,0.5001) bfloat16": "65af1b84947f991ab9ea7e96dc0fd31c",
    "trunc(0,1e15,-2,2) float32": "3593d65857e9e459d0430d40794f47d4",
    "trunc(0,1e15,-2,2) float64": "bfa3f0ca79b982ee90348b78e31ef539",
    "trunc(0,1e15,-2,2) float16": "e839cdae5267d5db663b05d693619503",
    "trunc(0,1e15,-2,2) bfloat16": "83559dbea47048a312d0eb7b362f4647",
    "scheme xavier_uniform_ float32": "e0dc6245a0e1e91d2a6c11054809752c",
    "scheme xavier_uniform_ float64": "0c9f242c4cf7388996f0edeab59c5f93",
    "scheme xavier_uniform_ bfloat16": "23595f7b9d8e97a56be73e70adfd1aab",
    "scheme kaiming_normal_ float32": "2589b271696c2b3168835c44021f6a70",
    "scheme kaiming_normal_ float64": "17b35f89c4370dcd7e59986de2489bb1",
    "scheme kaiming_normal_ bfloat16": "beb227ac057a44f04fb1d2c2f691ca3f",
    "scheme glorot_normal float32": "935f24d57aaeb8a06716a1beaf3276a8",
    "scheme glorot_normal float64": "bb048fe45fbdbc921ac733ac924ba466",
    "scheme glorot_normal bfloat16": "8eb0838de5982d2282370b345f2803fa",
    "scheme he_uniform float32": "a7404733843ecd6932700d5864005df9",
    "scheme he_uniform float64": "f1995fc2141ca7317ec375815adecb40",
    "scheme he_uniform bfloat16": "f1f80e2bf36d65cfe68b41b052b0f029",
    "scheme lecun_normal float32": "73cedb9e00330cf69747c11b005038a6",
    "scheme lecun_normal float64": "3bcbe2fe41672cf72b0a13f8087c579a",
    "scheme lecun_normal bfloat16": "651acf87da6d3076ae8b5df4dc85ae78",
    "scheme trunc_normal_ float32": "57fac8a5736c1583356b2e2a226f105f",
    "scheme trunc_normal_ float64": "93a3e4c30f4e90c37bcfd777eeddb739",
    "scheme trunc_normal_ bfloat16": "4f29689a9772b49514b0918dffccf3e8",
    "scheme variance_scaling float32": "fb5fadebe3d10d8a239d24d6a421dbaf",
    "scheme variance_scaling float64": "b5bec4e62ab44680346dbea6c77b3c5e",
    "scheme variance_scaling bfloat16": "4762791b9686b1b1da82b99fe0d5f899",
    "scheme sparse_ float32": "a4f8adee248c618a568c3b414b46588a",
    "scheme sparse_ float64": "b97281c1d2fad22a47946a56f8e5d63a",
    "scheme sparse_ bfloat16": "e962c2f2e3b02617d296a95ea9f542bd",
    "scheme torch_embedding float32": "e357b25c1b5306c37c08794f759cc50f",
    "scheme torch_embedding float64": "b05d3369cd05cd45d680fa38db08d72c",
    "scheme torch_embedding bfloat16": "781454d3654d5a756860d4d20b2d1320",
}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_streams_are_pinned(name, dtype, simd_path):
    assert kernel_digest(name, dtype) == PINS[f"{name} {dtype}"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("name", list(SCHEMES))
def test_scheme_streams_are_pinned(name, dtype, simd_path):
    assert scheme_digest(name, dtype) == PINS[f"scheme {name} {dtype}"]


def test_pins_hold_on_two_threads_and_in_shards():
    fn, args = KERNELS["normal(0.5,2)"]
    whole = fn(np.empty(3 * 2**18, np.float32), *args, seed=SEED, stream=STREAM, num_threads=2)
    parts = [fn(np.empty(2**18, np.float32), *args, seed=SEED, stream=STREAM, offset=k * 2**18, num_threads=1)
             for k in range(3)]
    assert np.array_equal(np.concatenate(parts), whole)
    h = hashlib.sha256()
    for off in OFFSETS:
        h.update(whole[off:off + N].view(np.uint8) if off + N <= len(whole) else
                 fn(np.empty(N, np.float32), *args, seed=SEED, stream=STREAM, offset=off, num_threads=2).view(np.uint8))
    assert h.hexdigest()[:32] == PINS["normal(0.5,2) float32"]


if __name__ == "__main__":  # print the pins (only for a new major version)
    for name in KERNELS:
        for dtype in DTYPES:
            print(f'    "{name} {dtype}": "{kernel_digest(name, dtype)}",')
    for name in SCHEMES:
        for dtype in ("float32", "float64", "bfloat16"):
            print(f'    "scheme {name} {dtype}": "{scheme_digest(name, dtype)}",')
