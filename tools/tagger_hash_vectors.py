#!/usr/bin/python3
"""XXH64 reference vectors for seer's content hash, from Debian's libxxhash.so.0 (ctypes).

  /usr/bin/python3 tools/tagger_hash_vectors.py > tests/fixtures/tagger/xxh64_vectors.json

Data for length n is bytes b[i] = ((i * 2654435761) mod 2^32) >> 24, i < n (the C++ test makes
the same bytes).
"""
import ctypes
import json

lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH64.restype = ctypes.c_ulonglong
lib.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ulonglong]


def data(n):
    return bytes((((i * 2654435761) & 0xFFFFFFFF) >> 24) for i in range(n))


vectors = []
for n in [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 100, 1000, 65537]:
    for seed in [0, 12345]:
        vectors.append({"length": n, "seed": seed,
                        "xxh64": "%016x" % lib.XXH64(data(n), n, seed)})
vectors.append({"length": 3, "seed": 0, "text": "abc", "xxh64": "%016x" % lib.XXH64(b"abc", 3, 0)})
print(json.dumps({"generator": "tools/tagger_hash_vectors.py (libxxhash 0.8.1)",
                  "vectors": vectors}, indent=0))
