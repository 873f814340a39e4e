#!/usr/bin/python3
"""Independent reference for WD14 tagger post-processing (the SmilingWolf wd-tagger Space).

Written from the Space's `app.py` semantics (shared/ref/models.md §1.7), not from seer's C++:
labels via Python's csv module (the Space uses pandas), the rating / general / character split
from the category column, `mcut_threshold` and `predict` as in the Space, plus the documented
seer options (characters / top rating in the text, exclude list, no escaping, raw names).

Usage:
  # regenerate the committed unit-test fixtures (tests/fixtures/tagger/)
  /usr/bin/python3 tools/wd14_reference.py fixtures --out tests/fixtures/tagger
  # expected JSONL records for model outputs (N x C float32 .npy, one path per row)
  /usr/bin/python3 tools/wd14_reference.py jsonl --csv selected_tags.csv --probs out.npy \
      --paths a.png b.png > expected.jsonl

Needs numpy only.
"""

import argparse
import csv
import io
import json
import sys

import numpy as np

# The Space's list (toriato ui.py L368, picobyte DEFAULT_KAMOJIS); models.md §1.7.
KAOMOJIS = [
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3",
    "6_9", ">_o", "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
]

DEFAULT_OPTIONS = {
    "general_threshold": 0.35,
    "character_threshold": 0.85,
    "general_mcut": False,
    "character_mcut": False,
    "characters_in_text": "omit",   # omit | first | last
    "rating_in_text": "omit",       # omit | first | last
    "replace_underscores": True,
    "escape_parentheses": True,
    "exclude": [],
}


class Labels:
    def __init__(self, raw_names, categories):
        self.raw_names = raw_names
        self.categories = categories
        cats = np.array(categories)
        # Space load_labels: np.where(dataframe["category"] == 9) etc.
        self.rating_indexes = list(np.where(cats == 9)[0])
        self.general_indexes = list(np.where(cats == 0)[0])
        self.character_indexes = list(np.where(cats == 4)[0])

    def names(self, replace_underscores):
        if not replace_underscores:
            return list(self.raw_names)
        return [x.replace("_", " ") if x not in KAOMOJIS else x for x in self.raw_names]


def load_labels(csv_text):
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    rows = [r for r in rows if r]
    header = rows[0]
    if "name" in header and "category" in header:
        name_col, cat_col = header.index("name"), header.index("category")
        rows = rows[1:]
    else:
        name_col, cat_col = 1, 2
    return Labels([r[name_col] for r in rows], [int(r[cat_col]) for r in rows])


def mcut_threshold(probs):
    """Maximum Cut Thresholding (MCut), Largeron et al. 2012 -- verbatim Space semantics."""
    sorted_probs = probs[probs.argsort()[::-1]]
    difs = sorted_probs[:-1] - sorted_probs[1:]
    t = difs.argmax()
    thresh = (sorted_probs[t] + sorted_probs[t + 1]) / 2
    return thresh


def _excluded(opts, raw_name):
    want = {e.strip().lower() for e in opts["exclude"] if e.strip()}
    if not want:
        return False
    shown = raw_name.replace("_", " ") if raw_name not in KAOMOJIS else raw_name
    return raw_name.strip().lower() in want or shown.strip().lower() in want


def _first_raw(labels, indexes, labels_list, thresh):
    """Shown name -> CSV name of its first kept row (what an exclude entry is matched against)."""
    out = {}
    for i in indexes:
        if labels_list[i][1] > thresh:
            out.setdefault(labels_list[i][0], labels.raw_names[i])
    return out


def predict(preds, labels, options=None):
    """preds: 1-D float32 probabilities for one image. Returns the result dict."""
    opts = dict(DEFAULT_OPTIONS)
    opts.update(options or {})
    tag_names = labels.names(opts["replace_underscores"])
    labels_list = list(zip(tag_names, preds.astype(float)))
    raw_of = list(labels.raw_names)

    ratings_names = [labels_list[i] for i in labels.rating_indexes]

    general_thresh = opts["general_threshold"]
    general_names = [labels_list[i] for i in labels.general_indexes]
    if opts["general_mcut"] and len(general_names) >= 2:
        general_probs = np.array([x[1] for x in general_names])
        general_thresh = mcut_threshold(general_probs)
    general_res = dict(
        (labels_list[i][0], labels_list[i][1]) for i in labels.general_indexes
        if labels_list[i][1] > general_thresh)
    general_raw = _first_raw(labels, labels.general_indexes, labels_list, general_thresh)

    character_thresh = opts["character_threshold"]
    character_names = [labels_list[i] for i in labels.character_indexes]
    if opts["character_mcut"] and len(character_names) >= 2:
        character_probs = np.array([x[1] for x in character_names])
        character_thresh = mcut_threshold(character_probs)
        character_thresh = max(0.15, character_thresh)
    character_res = dict(
        (labels_list[i][0], labels_list[i][1]) for i in labels.character_indexes
        if labels_list[i][1] > character_thresh)
    character_raw = _first_raw(labels, labels.character_indexes, labels_list, character_thresh)

    # seer's exclude option: a filter on the Space's result.
    general_res = {k: v for k, v in general_res.items() if not _excluded(opts, general_raw[k])}
    character_res = {k: v for k, v in character_res.items()
                     if not _excluded(opts, character_raw[k])}

    general_sorted = sorted(general_res.items(), key=lambda x: x[1], reverse=True)
    character_sorted = sorted(character_res.items(), key=lambda x: x[1], reverse=True)

    rating_tag = []
    if opts["rating_in_text"] != "omit" and ratings_names:
        best = int(np.argmax([p for _, p in ratings_names]))
        if not _excluded(opts, raw_of[labels.rating_indexes[best]]):
            rating_tag = [ratings_names[best][0]]

    parts = []
    if opts["rating_in_text"] == "first":
        parts += rating_tag
    if opts["characters_in_text"] == "first":
        parts += [x[0] for x in character_sorted]
    parts += [x[0] for x in general_sorted]
    if opts["characters_in_text"] == "last":
        parts += [x[0] for x in character_sorted]
    if opts["rating_in_text"] == "last":
        parts += rating_tag
    text = ", ".join(parts)
    if opts["escape_parentheses"]:
        text = text.replace("(", "\\(").replace(")", "\\)")

    return {
        "ratings": [[n, p] for n, p in ratings_names],
        "general": [[n, p] for n, p in general_sorted],
        "character": [[n, p] for n, p in character_sorted],
        "text": text,
    }


def jsonl_record(path, result):
    """The `seer tag --jsonl` record (issue 6)."""
    return {
        "path": path,
        "rating": {n: p for n, p in result["ratings"]},
        "general": [{"tag": n, "score": p} for n, p in result["general"]],
        "character": [{"tag": n, "score": p} for n, p in result["character"]],
        "text": result["text"],
    }


# ---------------------------------------------------------------------------------------------
# Fixture generation

HARD_ROWS = [
    # (name, category); written through csv.writer, so quotes/commas get RFC 4180 quoting.
    ("general", 9), ("sensitive", 9), ("questionable", 9),
    ("1girl", 0), ("solo", 0), ("long_hair", 0),
    ("don't_say_\"lazy\"", 0), ("\\m/", 0), ("double_\\m/", 0), ("\\||/", 0),
    ("ribbon_(cloth)", 0), ("name,with,commas", 0), ("^_^", 0), (">_<", 0), ("0_0", 0),
    ("||_||", 0), ("(o)_(o)", 0), ("+_-", 0), ("smile_(emoticon)_", 0),
    ("sailor_collar", 0), ("sailor collar", 0),  # same display name: the Space's dict keeps one
    ("some_series", 3), ("some_artist", 1), ("highres", 5),
    ("explicit", 9),  # a rating row away from the top: categories come from the column
    ("hatsune_miku", 4), ("kaname_madoka_(cosplay)", 4), ("o_o", 4), ("a,b_\"c\"", 4),
]


def make_tag_rows(rng):
    rows = list(HARD_ROWS)
    for i in range(24):
        rows.insert(int(rng.integers(3, len(rows))), (f"gen_tag_{i:02d}", 0))
    for i in range(10):
        rows.append((f"char_{i:02d}_(series_{i % 3})", 4))
    for i in range(3):
        rows.insert(int(rng.integers(3, len(rows))), (f"copyright_{i}", 3))
    return rows


def write_csv(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["tag_id", "name", "category", "count"])
    for i, (name, cat) in enumerate(rows):
        w.writerow([100000 + i, name, cat, 5000 - i])
    return out.getvalue()


def f32(x):
    return np.float32(x)


def make_vectors(rng, labels):
    n = len(labels.raw_names)
    g = np.array(labels.general_indexes)
    c = np.array(labels.character_indexes)
    r = np.array(labels.rating_indexes)
    vecs = []

    def base():
        return rng.beta(0.35, 2.0, size=n).astype(np.float32)

    for _ in range(6):  # plain random
        vecs.append(base())
    v = base()  # values on and beside the default thresholds
    near = [f32(0.35), np.nextafter(f32(0.35), f32(1)), np.nextafter(f32(0.35), f32(0)),
            f32(0.85), np.nextafter(f32(0.85), f32(1)), np.nextafter(f32(0.85), f32(0)),
            f32(0.15), np.nextafter(f32(0.15), f32(1))]
    for k, val in enumerate(near):
        v[g[k]] = val
        v[c[k % len(c)]] = val
    vecs.append(v)
    v = base()  # ties among kept tags: stable order (CSV order) must hold
    v[g[:6]] = f32(0.75)
    v[g[6:9]] = f32(0.5)
    v[c[:3]] = f32(0.9)
    v[r[:2]] = f32(0.6)  # rating tie: argmax takes the first
    vecs.append(v)
    v = np.zeros(n, np.float32)  # equal MCut gaps: first gap wins
    v[g[:4]] = [0.875, 0.625, 0.375, 0.125]
    v[c[:4]] = [0.875, 0.625, 0.375, 0.125]
    vecs.append(v)
    vecs.append(np.full(n, f32(0.5)))   # all equal: every gap 0
    vecs.append(np.zeros(n, np.float32))
    vecs.append(np.ones(n, np.float32))
    v = base() * f32(0.12)  # characters all below the 0.15 MCut floor, with a clear gap
    v[c[0]] = f32(0.14)
    v[c[1]] = f32(0.02)
    vecs.append(v)
    v = base()  # sailor_collar / "sailor collar" both kept: dict keeps first slot, last score
    names = labels.raw_names
    v[names.index("sailor_collar")] = f32(0.6)
    v[names.index("sailor collar")] = f32(0.9)
    vecs.append(v)
    v = base()  # every hard name kept
    for i in range(n):
        if names[i] in dict(HARD_ROWS):
            v[i] = f32(0.95) - f32(0.001) * f32(i)
    vecs.append(v)
    v = rng.random(n).astype(np.float32)  # uniform: many kept, many near any threshold
    vecs.append(v)
    return vecs


OPTION_SETS = [
    {},
    {"general_mcut": True},
    {"character_mcut": True},
    {"general_mcut": True, "character_mcut": True},
    {"general_threshold": 0.2, "character_threshold": 0.5, "characters_in_text": "first",
     "rating_in_text": "first"},
    {"characters_in_text": "last", "rating_in_text": "last", "escape_parentheses": False},
    {"characters_in_text": "first",
     "exclude": ["1girl", "long hair", "RIBBON_(CLOTH)", "  solo ", "hatsune miku", "^_^",
                 "general", "sensitive"],
     "rating_in_text": "first"},
    {"replace_underscores": False, "characters_in_text": "last"},
    {"general_threshold": 0.0, "character_threshold": 0.0},
    {"general_mcut": True, "character_mcut": True, "characters_in_text": "first",
     "rating_in_text": "last", "exclude": ["gen_tag_03", "sailor collar"]},
]


def gen_fixtures(out_dir):
    rng = np.random.default_rng(20261123)
    rows = make_tag_rows(rng)
    csv_text = write_csv(rows)
    labels = load_labels(csv_text)
    vectors = make_vectors(rng, labels)
    cases = []
    for vi, v in enumerate(vectors):
        for oi, o in enumerate(OPTION_SETS):
            cases.append({"vector": vi, "options": oi, "expected": predict(v, labels, o)})
    doc = {
        "generator": "tools/wd14_reference.py fixtures",
        "csv": "tags.csv",
        "options": [dict(DEFAULT_OPTIONS, **o) for o in OPTION_SETS],
        # float32 values written as the exact double of each float (repr round-trips).
        "vectors": [[float(x) for x in v] for v in vectors],
        "cases": cases,
    }
    with open(f"{out_dir}/tags.csv", "w", newline="") as f:
        f.write(csv_text)
    with open(f"{out_dir}/postprocess_cases.json", "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    # JSONL records (default options) for the first vectors, with awkward paths.
    paths = ["photos/0.png", "a \"quoted\" name.jpg", "dir,with,commas/ü.webp",
             "back\\slash.JPG"] + [f"img/{i:02d}.png" for i in range(4, len(vectors))]
    with open(f"{out_dir}/records.jsonl", "w") as f:
        for path, v in zip(paths, vectors):
            f.write(json.dumps(jsonl_record(path, predict(v, labels)), ensure_ascii=False) + "\n")
    print(f"{len(rows)} tags, {len(vectors)} vectors, {len(cases)} cases -> {out_dir}",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("--out", required=True)
    j = sub.add_parser("jsonl")
    j.add_argument("--csv", required=True)
    j.add_argument("--probs", required=True, help=".npy, float32 [N, C]")
    j.add_argument("--paths", nargs="+", required=True)
    j.add_argument("--options", default="{}", help="JSON object overriding DEFAULT_OPTIONS")
    a = ap.parse_args()
    if a.cmd == "fixtures":
        gen_fixtures(a.out)
    else:
        with open(a.csv, newline="") as fh:
            labels = load_labels(fh.read())
        probs = np.load(a.probs)
        assert probs.shape == (len(a.paths), len(labels.raw_names)), probs.shape
        opts = json.loads(a.options)
        for p, row in zip(a.paths, probs):
            print(json.dumps(jsonl_record(p, predict(row.astype(np.float32), labels, opts))))


if __name__ == "__main__":
    main()
