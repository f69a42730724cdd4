"""fastinit with plain numpy: init by name, shards that are slices of the whole, a table written
to a .npy file in bounded memory and read back with mmap.

Run:  python examples/numpy_tables.py
"""
import os
import tempfile

import numpy as np

import fastinit

ROWS, DIM = 200_000, 64

# 1. Allocate and fill by scheme name (fastinit.schemes() lists every name).  Values depend only on
#    (seed, scheme, shape): the same for any thread count or CPU.
table = fastinit.init((ROWS, DIM), "xavier_uniform", seed=0)
bound = (6 / (ROWS + DIM)) ** 0.5                   # torch's xavier_uniform_: fans of (out, in)
assert table.dtype == np.float32 and np.abs(table).max() <= bound

# 2. A shard is exactly its slice of the whole: give the whole shape and the shard's flat offset.
#    Each worker of a job can fill only its own rows, with no communication.
world_size = 4
for rank in range(world_size):
    lo, hi = rank * ROWS // world_size, (rank + 1) * ROWS // world_size
    shard = fastinit.init((hi - lo, DIM), "xavier_uniform", seed=0,
                          full_shape=(ROWS, DIM), offset=lo * DIM)
    assert np.array_equal(shard, table[lo:hi])

# ... and any N-D block (here rows 1000..2000, columns 16..48), fans still from the whole shape.
block = fastinit.fill_block(np.empty((1000, 32), np.float32), "xavier_uniform", (ROWS, DIM),
                            (slice(1000, 2000), slice(16, 48)), seed=0)
assert np.array_equal(block, table[1000:2000, 16:48])

# 3. In-place fills with torch.nn.init's names and semantics, into a buffer you own.
w = np.empty((1024, 512), np.float32)
fastinit.trunc_normal_(w, std=0.02, seed=1)
assert np.abs(w).max() <= 2.0                      # torch's default bounds a=-2, b=2

# 4. A table too big for memory: init_npy writes it chunk by chunk (chunk_bytes= bounds memory),
#    atomically (a temporary renamed on success), then read it back memory-mapped.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "embeddings.npy")
    fastinit.init_npy(path, (ROWS, DIM), "normal", seed=0, std=0.02,
                      chunk_bytes=4 << 20, progress=False)          # 4 MiB at a time
    on_disk = np.load(path, mmap_mode="r")                          # nothing read yet
    assert on_disk.shape == (ROWS, DIM) and on_disk.dtype == np.float32
    expected = fastinit.init((ROWS, DIM), "normal", seed=0, std=0.02)
    assert np.array_equal(on_disk[123_456:123_460], expected[123_456:123_460])
    assert np.array_equal(on_disk, expected)
    print(f"std of the table on disk: {on_disk.std():.4f}")          # ~0.0200
    del on_disk                                                     # close the map before cleanup

print("OK numpy_tables")
