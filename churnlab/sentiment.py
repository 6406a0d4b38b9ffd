"""How churned customers felt, what they talked about, and in their own words.

Exit-interview verbatims in English and Japanese:

* :func:`score_verbatims` - language (detected when not given), a sentiment score in ``[-1, 1]`` and a
  label (negative / neutral / positive) from the shipped models (see :mod:`churnlab.sentiment_model`
  and ``docs/sentiment.md`` for how they were trained and measured).
* :func:`classify_tone` - frustrated / respectful ("disappointed but respectful") / neutral, by a
  documented marker rule; tone signals win-back potential.
* :func:`count_mentions`, :func:`mention_shares`, :func:`distinctive_terms` - configurable keyword
  families (``churnlab/themes.yaml``) counted per verbatim, Japanese tokenised with MeCab.
* :func:`check_reasons` - a suggested primary reason where none was given, and flags where the text
  contradicts the chosen reason.
* :func:`select_quotes` - representative and strongest quotes per reason, near duplicates removed,
  personal data redacted by :func:`redact`; :func:`quotes_html` publishes them HTML-escaped.

Everything runs offline; nothing is downloaded. Functions take tidy frames, never mutate them and
return new frames.
"""
from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from churnlab import sentiment_model as _sm
from churnlab.stats import wilson_interval

__all__ = [
    "THEMES_PATH", "TONES", "LABELS", "detect_language", "score_verbatims", "redact", "load_themes",
    "classify_tone", "count_mentions", "mention_shares", "mention_sentences", "distinctive_terms",
    "check_reasons", "select_quotes", "quotes_html", "label_shares", "tone_shares",
    "sentiment_summary", "read_verbatims", "escape_table_html", "personal_data",
]

#: The shipped themes, tone markers and reason keywords.
THEMES_PATH = Path(__file__).with_name("themes.yaml")
#: Sentiment labels, in display order.
LABELS = ("negative", "neutral", "positive")
#: Tones, in display order.
TONES = ("frustrated", "respectful", "neutral")
_TONE_LABELS = {"en": {"frustrated": "Frustrated / bitter", "respectful": "Disappointed but respectful",
                       "neutral": "Neutral / matter-of-fact"},
                "ja": {"frustrated": "不満・怒り", "respectful": "残念だが丁寧", "neutral": "淡々"}}

# Decision thresholds (documented in docs/sentiment.md)
_JA_NEUTRAL_BAND = 0.35     # Japanese: |score| below this with no polar words -> neutral
_FACTUAL_SHRINK = 0.25      # score multiplier for a matter-of-fact organisational statement
_FRUSTRATED_SCORE = -0.85   # negative and at least this strong, with no courtesy: frustrated
_ANGRY_FLOOR = 0.6          # frustration marker and no courtesy marker: score at most -0.6


# --------------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------------

_KANA_RE = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\uff66-\uff9f]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_LANG_ALIASES = {"en": "en", "eng": "en", "english": "en", "ja": "ja", "jp": "ja", "jpn": "ja",
                 "japanese": "ja", "日本語": "ja", "英語": "en"}


def detect_language(text) -> str | None:
    """``"ja"`` or ``"en"`` for a verbatim; ``None`` when it is blank.

    Japanese when the text has any kana, or when CJK ideographs make up at least a fifth of its
    letters (a Japanese sentence that happens to be all kanji); English otherwise (the only other
    language the scorer reads). Names, e-mail addresses and URLs in Latin letters inside a
    Japanese sentence do not change the answer.

    Examples
    --------
    >>> detect_language("Support never replied."), detect_language("サポートの返事が遅かった。")
    ('en', 'ja')
    >>> detect_language("Salesforce連携がなかった"), detect_language("  ") is None
    ('ja', True)
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    t = unicodedata.normalize("NFKC", str(text))
    if not t.strip():
        return None
    if _KANA_RE.search(t):
        return "ja"
    cjk = len(_CJK_RE.findall(t))
    latin = len(_LATIN_RE.findall(t))
    return "ja" if cjk and cjk >= 0.2 * (cjk + latin) else "en"


def _norm_lang(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return _LANG_ALIASES.get(str(v).strip().lower())


def _texts(frame: pd.DataFrame, text_col: str) -> pd.Series:
    if text_col not in frame.columns:
        raise KeyError(f"no column {text_col!r} in the frame (columns: {list(frame.columns)})")
    return frame[text_col].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                               or v is pd.NA else str(v).strip())


def _languages(frame, texts, lang_col):
    given = frame[lang_col].map(_norm_lang) if lang_col and lang_col in frame.columns else None
    detected = texts.map(lambda t: detect_language(t) if t else None)
    lang = detected if given is None else given.where(given.notna(), detected)
    return lang.where(texts != "", None)


# --------------------------------------------------------------------------------------------
# Sentiment
# --------------------------------------------------------------------------------------------

def score_verbatims(frame: pd.DataFrame, *, text_col: str = "verbatim", lang_col: str | None = None,
                    themes=None) -> pd.DataFrame:
    """Sentiment of each verbatim: language, score in ``[-1, 1]`` and label.

    Parameters
    ----------
    frame : DataFrame
        One row per verbatim (e.g. the ``exit_interviews`` table).
    text_col : str
        Column holding the verbatim text. Blank text gets missing values.
    lang_col : str, optional
        Column holding the language (``en`` / ``ja``); blank or unknown values are detected from the
        text. ``None`` = detect every language.
    themes : dict or path, optional
        Themes file whose ``factual`` and ``tone`` markers are used (default: the shipped one).

    Returns
    -------
    DataFrame
        Indexed like ``frame``, columns ``language`` (``en`` / ``ja``), ``sentiment_score`` (``-1``
        = clearly negative, ``1`` = clearly positive) and ``sentiment_label`` (``negative`` /
        ``neutral`` / ``positive``).

    Notes
    -----
    The class probabilities come from the stacked sentiment model of each language (n-gram and
    sentence-embedding models; the n-gram model alone where the encoder is unavailable, see
    :mod:`churnlab.sentiment_model`). English has three classes: score = P(positive) - P(negative),
    label = the most probable class. Japanese has two classes: score = 2 P(positive) - 1; when ``|score| < 0.35`` the
    label is neutral if the text has no word from the Japanese polarity dictionary, and negative
    if all its polar words are negative. In both languages a frustration marker (the ``tone``
    list of the themes file) without any courtesy marker makes the verbatim negative (score at
    most -0.6), and a matter-of-fact statement of an organisational event (acquisition, budget freeze,
    payment lapse...; the ``factual`` terms of the themes file) without any affective or courtesy
    marker is labelled neutral and its score shrunk towards 0, since in an exit interview it says
    nothing about how the customer felt about the product. Deterministic: the same text always
    gets the same score.

    Examples
    --------
    >>> df = pd.DataFrame({"verbatim": ["Support ignored us for weeks. Unacceptable.",
    ...                                 "Great product, thanks for everything!",
    ...                                 "問い合わせが何週間も放置され、本当にがっかりした。"]})
    >>> out = score_verbatims(df)
    >>> out["language"].tolist(), out["sentiment_label"].tolist()
    (['en', 'en', 'ja'], ['negative', 'positive', 'negative'])
    """
    texts = _texts(frame, text_col)
    lang = _languages(frame, texts, lang_col)
    score = pd.Series(np.nan, index=frame.index, dtype=float)
    label = pd.Series(pd.NA, index=frame.index, dtype="object")
    th = load_themes(themes)
    for code in ("en", "ja"):
        mask = (lang == code).to_numpy()
        if not mask.any():
            continue
        sub = texts[mask].tolist()
        s, lab = _score_texts(sub, code)
        m = _matchers(th)
        angry = np.array([bool(m["tone"]["frustrated"][code].count(t, code))
                          and not m["tone"]["respectful"][code].count(t, code) for t in sub], dtype=bool)
        s = np.where(angry, np.minimum(s, -_ANGRY_FLOOR), s)
        lab = np.where(angry, "negative", lab)
        factual = ~angry & np.array([_is_factual(t, code, th) for t in sub], dtype=bool)
        s = np.where(factual, s * _FACTUAL_SHRINK, s)
        lab = np.where(factual, "neutral", lab)
        score[mask] = s
        label[mask] = lab
    return pd.DataFrame({"language": lang.astype("object"), "sentiment_score": score.round(4),
                         "sentiment_label": label}, index=frame.index)


def _score_texts(texts: list[str], lang: str) -> tuple[np.ndarray, np.ndarray]:
    model = _sm.load_stacked(lang)
    P = model.predict_proba(texts)
    cls = model.classes
    score = P[:, cls.index("positive")] - P[:, cls.index("negative")]
    if len(cls) == 3:
        label = np.asarray(cls, dtype=object)[P.argmax(axis=1)]
    else:
        pols = [_sm.ja_polarities(_sm.ja_parse(t)) for t in texts]
        polar = np.array([bool(p) for p in pols], dtype=bool)
        all_neg = np.array([bool(p) and all(x < 0 for x in p) for p in pols], dtype=bool)
        unsure = np.abs(score) < _JA_NEUTRAL_BAND
        score = np.where(all_neg & unsure, np.minimum(score, -_JA_NEUTRAL_BAND), score)
        label = np.where(score > 0, "positive", "negative").astype(object)
        label[unsure & ~polar] = "neutral"
    return np.clip(score, -1.0, 1.0), label


def _is_factual(text: str, lang: str, themes: dict) -> bool:
    """A matter-of-fact statement of an organisational event, with no affect or courtesy marker."""
    m = _matchers(themes)
    if not m["factual"][lang].count(text, lang):
        return False
    if m["tone"]["frustrated"][lang].count(text, lang) or m["tone"]["respectful"][lang].count(text, lang):
        return False
    if m["complaint"][lang].count(text, lang):
        return False
    if lang == "en":
        return abs(_sm.en_lexicon(text)[3]) < 0.3
    return True


# --------------------------------------------------------------------------------------------
# Personal data
# --------------------------------------------------------------------------------------------

_D = r"[0-9０-９]"
_SEP = r"[\s\-‐－―−ー.・()（）]{0,3}"
# e-mail addresses, also in full-width letters, digits and signs (ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ) and mixed
_AL = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
_EMAIL_RE = re.compile(rf"[{_AL}._%+'\-．＿－＋]+\s?[@＠]\s?[{_AL}\-－]+(?:[.．][{_AL}\-－]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,}}")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]"
# after a scheme or www. anything up to a space, a quote or Japanese punctuation is the address
# (internationalised host names and paths included); a bare domain needs a path ("acme.de/kontakt",
# "bit.ly/x") and a top-level domain that is a known generic one or two letters (a country; not a file
# extension such as "Node.js/React")
_IRI_CHARS = r"[^\s<>\"'`「」『』、。（）【】]"
_TLD = (r"(?:com|org|net|edu|gov|mil|int|info|biz|name|pro|io|co|me|ly|gl|gd|to|dev|app|ai|xyz|site|online|"
        r"shop|store|tech|cloud|page|link|example|test|(?!(?:js|ts|py|rb|sh|cs|md)/)[a-z]{2})")
_URL_RE = re.compile(rf"(?:(?:https?|ftp)://|www\.){_IRI_CHARS}+"
                     rf"|(?<![\w@＠.\-/])[A-Za-z0-9\u00C0-\u024F](?:[A-Za-z0-9\u00C0-\u024F\-]*)"
                     rf"(?:\.[A-Za-z0-9\u00C0-\u024F\-]+)*\.{_TLD}/{_IRI_CHARS}*", re.I)
_ASCII_PATH_END = re.compile(r"[^\x21-\x7e\u00C0-\u024F]")
# a telephone extension: "ext. 555 0147", "extension 12", "x1234", "内線123"
_EXT_RE = re.compile(r"(?:\b(?:ext|extn|extension)\b\.?|内線|(?<![A-Za-z0-9])x(?=[0-9０-９]{3}))"
                     r"\s*[:：#＃]?\s*[0-9０-９]{1,6}(?:[\s\-‐－][0-9０-９]{2,6}){0,2}(?![0-9０-９])", re.I)
# a run of digit groups that looks like a telephone number: optional +country code, at least 9
# digits in 2+ groups (or 10+ digits written together), or a 3-4 local number with a separator
_PHONE_RE = re.compile(
    rf"(?<![0-9０-９A-Za-z/#])(?:(?:[+＋]|00|００){_D}{{1,3}}{_SEP})?(?:[(（]{_D}{{1,5}}[)）]{_SEP})?"
    rf"{_D}{{1,5}}(?:{_SEP}{_D}{{1,5}}){{1,4}}(?![0-9０-９%％])"
    rf"|(?<![0-9０-９])[+＋]?{_D}{{10,13}}(?![0-9０-９%％])")
_TRAIL = ".,;:!?)]}」』。、"


def _phone_ok(s: str) -> bool:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", s))
    if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[\sT]{1,2}\d{1,2})?", unicodedata.normalize("NFKC", s).strip()):
        return False                           # an ISO date (and the hour of a timestamp)
    if s.lstrip().startswith(("+", "＋")):
        return 8 <= len(digits) <= 15
    if re.match(r"00[1-9]\d{0,2}[\s\-‐－―−.]", unicodedata.normalize("NFKC", s.lstrip())):
        return 8 <= len(digits) - 2 <= 15        # "00" is "+" dialled from most countries: 0044 20 7946 0958
    if re.search(r"\s", s.strip()) and not re.search(r"[\-‐－―−ー().（）]", s):
        return 10 <= len(digits) <= 12 and digits.startswith("0") or len(digits) == 10
    return 9 <= len(digits) <= 13 or (len(digits) == 7 and re.fullmatch(
        r"\d{3}[\-‐－―−]\d{4}", unicodedata.normalize("NFKC", s).strip()) is not None)


def redact(text, *, email: str = "[email]", phone: str = "[phone]", url: str = "[url]"):
    """Replace e-mail addresses (also full-width), telephone numbers (US, international and Japanese
    formats, also in full-width digits, with extensions) and URLs (also internationalised, short links
    and bare domains with a path) in a text or a Series of texts with placeholders.

    Returns the same type as given (a Series keeps its index); missing values stay missing. The
    result is plain text: escape it (:func:`churnlab.presentation.escape`) before putting it into HTML.

    Examples
    --------
    >>> redact("Call me on (415) 555-0147 or mail jane.doe@example.com, notes at https://x.example/r/1.")
    'Call me on [phone] or mail [email], notes at [url].'
    >>> redact("直通は090-1234-5678、詳細はyuki@corp.exampleまで。")
    '直通は[phone]、詳細は[email]まで。'
    >>> redact("Renewal went up by 30% on 2024-03-01; ticket #123456.")
    'Renewal went up by 30% on 2024-03-01; ticket #123456.'
    """
    if isinstance(text, pd.Series):
        return text.map(lambda t: redact(t, email=email, phone=phone, url=url)
                        if isinstance(t, str) else t)
    if text is None or not isinstance(text, str):
        return text
    return _redact(text, email, phone, url, None)


def personal_data(text) -> list[str]:
    """The pieces of ``text`` that :func:`redact` replaces (e-mail addresses, phone numbers, URLs).

    Examples
    --------
    >>> personal_data("Mail jane@example.com or call (415) 555-0147 ext. 12.")
    ['jane@example.com', 'ext. 12', '(415) 555-0147']
    """
    found: list[str] = []
    if isinstance(text, str):
        _redact(text, "[email]", "[phone]", "[url]", found)
    return found


def _redact(text: str, email: str, phone: str, url: str, found) -> str:
    def keep(s):
        if found is not None and s.strip():
            found.append(s.strip())

    def _email(m):
        keep(m.group(0))
        return email

    out = _EMAIL_RE.sub(_email, text)

    def _url(m):
        s = m.group(0)
        rest = ""
        host = re.match(r"(?:(?:https?|ftp)://)?[^/?#]*", s, re.I).group(0)
        if host.isascii():   # an ASCII address ends where the text goes on in another script
            cut = _ASCII_PATH_END.search(s, len(host))
            if cut:
                s, rest = s[:cut.start()], s[cut.start():]
        tail = ""
        while s and s[-1] in _TRAIL:
            tail = s[-1] + tail
            s = s[:-1]
        keep(s)
        return url + tail + (_URL_RE.sub(_url, rest) if rest else "")

    def _ext(m):
        keep(m.group(0))
        return phone

    out = _URL_RE.sub(_url, out)
    out = _EXT_RE.sub(_ext, out)

    def _phone(m):
        s = m.group(0)
        lead = s[: len(s) - len(s.lstrip())]
        core = s.strip()
        tail = ""
        while core and core[-1] in ".・-‐－ー() （）" and not core[-1].isdigit():
            if core[-1] in ")）" and core.count("(") + core.count("（") >= core.count(")") + core.count("）"):
                break
            tail = core[-1] + tail
            core = core[:-1]
        if not _phone_ok(core):
            return s
        keep(core)
        return lead + phone + tail

    out = _PHONE_RE.sub(_phone, out)
    ph = re.escape(phone)
    return re.sub(rf"{ph}(?:[\s,;]*(?:and\s+)?{ph})+", phone, out) if phone.strip() else out


#: Verbatim languages as readers see them (translated into the report language with the catalogue).
LANGUAGE_NAMES = {"en": "English", "ja": "Japanese"}


def escape_table_html(frame: pd.DataFrame, **kwargs) -> str:
    """An HTML table of ``frame`` with readable headers and every cell escaped (for customer text;
    redact it first). Its data twin is saved when the review is published, named by ``title``; an
    index shown without a name is named ``rows`` in it (e.g. ``rows="reason"``).

    Examples
    --------
    >>> escape_table_html(pd.DataFrame({"quote": ["<b>bad</b> & slow"]}), index=False).count("&lt;b&gt;")
    1
    >>> h = escape_table_html(pd.DataFrame({"language": ["en"], "score": [-0.8], "reason_flag": ["competitor_named"]}))
    >>> "English" in h, "-0.80" in h, "competitor named" in h
    (True, True, True)
    """
    from churnlab.i18n import report_language, word
    from churnlab.presentation import level_word, readable_header, save_twin, table_html

    rows = kwargs.pop("rows", None)
    twin = save_twin(frame.rename_axis(index=rows) if rows else frame, kwargs.pop("title", None) or "table")
    shown = frame.copy()
    for c in ("language", "sentiment_label", "tone", "reason_flag"):   # churnlab's own codes, in the report language
        if c in shown:
            shown[c] = shown[c].map(lambda v: level_word(word(LANGUAGE_NAMES.get(v, v))) if isinstance(v, str) else v)
    for c in shown.columns:   # scores and shares with two decimals ("-0.80", not "-0.8")
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    if shown.columns.name == "language":   # one column per language (a table unstacked by language)
        shown.columns = [word(LANGUAGE_NAMES.get(c, c)) for c in shown.columns]
    shown = shown.rename(columns=readable_header)
    if shown.columns.name is not None and report_language() != "en":
        shown.columns.name = readable_header(shown.columns.name)
    return table_html(shown, **{"classes": "churnlab-table", "csv": twin.name if twin else None, **kwargs})


# --------------------------------------------------------------------------------------------
# Themes and keyword matching
# --------------------------------------------------------------------------------------------

def load_themes(themes=None) -> dict:
    """The themes in force: the shipped ``churnlab/themes.yaml``, a user's file, or a dict.

    Returns
    -------
    dict
        ``{"themes": {code: {"en_label", "ja_label", "reason", "en": [...], "ja": [...]}},
        "reasons": {code: {"en": [...], "ja": [...]}}, "tone": {...}, "factual": {...},
        "complaint": {...}}``.

    Examples
    --------
    >>> th = load_themes()
    >>> list(th["themes"])[:3]
    ['support_responsiveness', 'pricing', 'integrations']
    >>> th["themes"]["pricing"]["ja_label"]
    '価格・費用'
    """
    if isinstance(themes, dict):
        raw = themes
    else:
        src = Path(themes) if themes else THEMES_PATH
        raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("themes"), dict):
        raise ValueError("a themes file needs a `themes:` mapping of theme code -> {en, ja, ...}")
    out = {"themes": {}, "reasons": {}, "tone": {}, "factual": {}, "complaint": {}}
    for code, spec in raw["themes"].items():
        spec = dict(spec or {})
        out["themes"][str(code)] = {
            "en_label": spec.get("en_label") or str(code).replace("_", " ").capitalize(),
            "ja_label": spec.get("ja_label") or spec.get("en_label") or str(code),
            "reason": spec.get("reason"),
            "names": [str(x) for x in spec.get("names") or []],
            "en": [str(x) for x in spec.get("en") or []],
            "ja": [str(x) for x in spec.get("ja") or []],
        }
    for key in ("reasons", "tone"):
        for code, spec in (raw.get(key) or {}).items():
            out[key][str(code)] = {"en": [str(x) for x in (spec or {}).get("en") or []],
                                   "ja": [str(x) for x in (spec or {}).get("ja") or []]}
    for key in ("factual", "complaint"):
        spec = raw.get(key) or {}
        out[key] = {"en": [str(x) for x in spec.get("en") or []], "ja": [str(x) for x in spec.get("ja") or []]}
    return out


class _Terms:
    """Compiled matcher for a list of English patterns and Japanese terms."""

    def __init__(self, en: list[str], ja: list[str]):
        self.en_re = None
        pats = []
        for term in en:
            words = term.lower().split()
            parts = []
            for w in words:
                if w == "*":
                    parts.append(r"[\w'’\-]+")
                elif w.endswith("*"):
                    parts.append(re.escape(w[:-1]) + r"[\w'’\-]*")
                else:
                    parts.append(re.escape(w))
            if parts:
                pats.append(r"\s+".join(parts))
        if pats:
            self.en_re = re.compile(r"(?<![\w])(?:" + "|".join(sorted(pats, key=len, reverse=True))
                                    + r")(?![\w])", re.I)
        self.ja_seqs = []
        self.ja_plain = []
        for term in ja:
            lem = tuple(l for _, _, l in _sm.ja_parse(term))
            self.ja_seqs.append(lem)
            self.ja_plain.append(unicodedata.normalize("NFKC", term).lower())

    def count(self, text: str, lang: str) -> int:
        if not text:
            return 0
        if lang == "en":
            return len(self.en_re.findall(text)) if self.en_re is not None else 0
        return self.count_ja(text)

    def _ja_spans(self, text: str) -> list[tuple[int, int, int]]:
        """Non-overlapping matches ``(start, end, term index)``, longest terms first."""
        toks = _ja_tokens(text)
        norm = unicodedata.normalize("NFKC", text).lower()
        starts, ends, pos = [], [], 0
        for surface, _, _ in toks:
            i = norm.find(surface.lower(), pos)
            i = pos if i < 0 else i
            starts.append(i)
            ends.append(i + len(surface))
            pos = ends[-1]
        lem = [l for _, _, l in toks]
        taken: list[tuple[int, int, int]] = []
        order = sorted(range(len(self.ja_seqs)), key=lambda j: (-len(self.ja_plain[j]), j))
        for j in order:
            seq, plain = self.ja_seqs[j], self.ja_plain[j]
            k = len(seq)
            spans = [(starts[i], ends[i + k - 1]) for i in range(len(lem) - k + 1)
                     if k and tuple(lem[i:i + k]) == seq]
            if not spans and plain:
                i = norm.find(plain)
                while i >= 0:
                    spans.append((i, i + len(plain)))
                    i = norm.find(plain, i + len(plain))
            for a, b in spans:
                if all(b <= x or a >= y for x, y, _ in taken):
                    taken.append((a, b, j))
        return taken

    def count_ja(self, text: str) -> int:
        if not self.ja_seqs:
            return 0
        return len(self._ja_spans(text))

    def terms_found(self, text: str, lang: str) -> list[str]:
        if lang == "en":
            return [m.lower() for m in self.en_re.findall(text)] if self.en_re is not None else []
        return [self.ja_plain[j] for _, _, j in sorted(self._ja_spans(text))]


@lru_cache(maxsize=4096)
def _ja_tokens(text: str):
    return tuple(_sm.ja_parse(text))


class _ByLang(dict):
    pass


def _pair(en, ja):
    t = _Terms(en, ja)
    return _ByLang(en=t, ja=t)


_MATCHER_CACHE: dict = {}


def _matchers(themes: dict, extra_names: tuple = ()) -> dict:
    key = (id(themes), extra_names)
    if key in _MATCHER_CACHE and _MATCHER_CACHE[key][0] is themes:
        return _MATCHER_CACHE[key][1]
    m = {"themes": {}, "reasons": {}, "tone": {}}
    for code, spec in themes["themes"].items():
        names = list(spec.get("names", [])) + (list(extra_names) if code == "competitors" else [])
        m["themes"][code] = _pair(spec["en"] + names, spec["ja"] + names)
    for code, spec in themes["reasons"].items():
        m["reasons"][code] = _pair(spec["en"], spec["ja"])
    for code, spec in themes["tone"].items():
        m["tone"][code] = _pair(spec["en"], spec["ja"])
    for code in ("frustrated", "respectful"):
        m["tone"].setdefault(code, _pair([], []))
    m["factual"] = _pair(themes["factual"]["en"], themes["factual"]["ja"])
    m["complaint"] = _pair(themes["complaint"]["en"], themes["complaint"]["ja"])
    if len(_MATCHER_CACHE) > 16:
        _MATCHER_CACHE.clear()
    _MATCHER_CACHE[key] = (themes, m)
    return m


def _competitor_names(frame, competitor_col, names):
    out = list(names or [])
    if competitor_col and competitor_col in frame.columns:
        out += [str(v).strip() for v in frame[competitor_col].dropna().unique() if str(v).strip()]
    return tuple(sorted({n for n in out if len(n) >= 3 and n.lower() not in ("other", "none", "n/a")}))


def count_mentions(frame: pd.DataFrame, *, themes=None, text_col: str = "verbatim",
                   lang_col: str | None = None, competitor_col: str | None = "competitor",
                   competitor_names=None) -> pd.DataFrame:
    """How often each theme is mentioned in each verbatim.

    Parameters
    ----------
    frame : DataFrame
        One row per verbatim.
    themes : dict or path, optional
        Themes (default: the shipped ``churnlab/themes.yaml``).
    text_col, lang_col : str
        Text column and optional language column (detected when absent or blank).
    competitor_col : str, optional
        A column of competitor names; every name in it counts as a mention of ``competitors``.
    competitor_names : list of str, optional
        More competitor names.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: one integer column per theme code (number of term occurrences;
        0 = not mentioned; ``<NA>`` for blank verbatims).

    Examples
    --------
    >>> df = pd.DataFrame({"verbatim": ["Support took 9 days to answer a ticket.",
    ...                                 "料金が高く、サポートの返事も遅かった。", ""]})
    >>> count_mentions(df)[["support_responsiveness", "pricing"]].to_dict("list")
    {'support_responsiveness': [4, 2, None], 'pricing': [0, 2, None]}
    """
    th = load_themes(themes)
    texts = _texts(frame, text_col)
    lang = _languages(frame, texts, lang_col)
    m = _matchers(th, _competitor_names(frame, competitor_col, competitor_names))
    out = {}
    for code, terms in m["themes"].items():
        out[code] = [terms[lg].count(t, lg) if lg else np.nan for t, lg in zip(texts, lang)]
    return pd.DataFrame(out, index=frame.index).astype("Int64")


def mention_shares(frame: pd.DataFrame, *, by=None, themes=None, text_col: str = "verbatim",
                   lang_col: str | None = None, competitor_col: str | None = "competitor",
                   competitor_names=None, mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of verbatims that mention each theme, overall or by group.

    Returns
    -------
    DataFrame
        Long form: ``[by...,] theme, theme_en, theme_ja, mentions`` (verbatims mentioning it),
        ``verbatims`` (non-blank verbatims), ``share`` with Wilson 95% bounds ``share_lo``,
        ``share_hi``, and ``occurrences`` (total term hits).

    Examples
    --------
    >>> df = pd.DataFrame({"verbatim": ["Support never replied.", "Too expensive.",
    ...                                 "Support was slow and pricing too high.", "Fine."]})
    >>> s = mention_shares(df)
    >>> s.set_index("theme").loc[["support_responsiveness", "pricing"], "share"].tolist()
    [0.5, 0.5]
    """
    th = load_themes(themes)
    cnt = mentions if mentions is not None else count_mentions(
        frame, themes=th, text_col=text_col, lang_col=lang_col, competitor_col=competitor_col,
        competitor_names=competitor_names)
    by = [by] if isinstance(by, str) else list(by or [])
    data = cnt.copy()
    for b in by:
        data[b] = frame[b].fillna("(missing)") if frame[b].dtype == object else frame[b]
    data = data[cnt.notna().all(axis=1)]
    rows = []
    groups = data.groupby(by, dropna=False, observed=True) if by else [((), data)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for code, spec in th["themes"].items():
            rows.append({**dict(zip(by, key)), "theme": code, "theme_en": spec["en_label"],
                         "theme_ja": spec["ja_label"], "mentions": int((g[code] > 0).sum()),
                         "verbatims": int(len(g)), "occurrences": int(g[code].sum())})
    out = pd.DataFrame(rows, columns=by + ["theme", "theme_en", "theme_ja", "mentions", "verbatims",
                                           "occurrences"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(out["verbatims"] > 0, out["mentions"] / out["verbatims"].where(
            out["verbatims"] > 0, 1), np.nan)
    out["share_lo"], out["share_hi"] = wilson_interval(out["mentions"], out["verbatims"])
    return out


def mention_sentences(shares: pd.DataFrame, *, top: int | None = None, lang: str = "en",
                      of: str = "exit interviews") -> list[str]:
    """Plain sentences such as "Support responsiveness was mentioned in 40% of exit interviews (12 of 30)."

    Takes the overall (no ``by``) output of :func:`mention_shares`, most-mentioned first.

    Examples
    --------
    >>> s = pd.DataFrame({"theme": ["pricing"], "theme_en": ["Pricing"], "theme_ja": ["価格・費用"],
    ...                   "mentions": [12], "verbatims": [30], "share": [0.4]})
    >>> mention_sentences(s)
    ['Pricing was mentioned in 40% of exit interviews (12 of 30).']
    >>> mention_sentences(s, lang="ja")
    ['退会インタビューの40%（30件中12件）で「価格・費用」への言及がありました。']
    """
    s = shares.sort_values(["share", "theme"], ascending=[False, True])
    if top:
        s = s.head(top)
    out = []
    for r in s.itertuples():
        if not r.verbatims:
            continue
        pct = f"{r.share:.0%}"
        if lang == "ja":
            out.append(f"退会インタビューの{pct}（{r.verbatims}件中{r.mentions}件）で「{r.theme_ja}」への言及がありました。")
        else:
            out.append(f"{r.theme_en} was mentioned in {pct} of {of} ({r.mentions} of {r.verbatims}).")
    return out


# --------------------------------------------------------------------------------------------
# Tone
# --------------------------------------------------------------------------------------------

def classify_tone(frame: pd.DataFrame, *, text_col: str = "verbatim", lang_col: str | None = None,
                  scores: pd.DataFrame | None = None, themes=None) -> pd.DataFrame:
    """Tone of each verbatim: ``frustrated``, ``respectful`` or ``neutral``, with the rule that decided.

    The rule (markers are the ``tone`` lists of the themes file, matched as in :func:`count_mentions`):

    1. **frustrated** (frustrated / bitter) - the verbatim is negative and has more frustration
       markers ("unacceptable", "waste of", "ignored us", ありえない, 不満 ...) than courtesy markers,
       or it is very negative (score <= -0.85) with no courtesy marker and an exclamation or
       frustration marker.
    2. **respectful** (disappointed but respectful) - otherwise, it has a courtesy marker
       ("thanks", "unfortunately", "we liked the team, but", 感謝, 残念 ...), or it is positive.
    3. **neutral** - matter-of-fact: no frustration or courtesy marker and not positive.

    Frustrated leavers rarely come back; respectful ones are the first win-back calls.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: ``tone``, ``tone_rule`` (which rule and markers decided),
        ``frustration_markers``, ``courtesy_markers``. Missing for blank verbatims.

    Examples
    --------
    >>> df = pd.DataFrame({"verbatim": ["Support ignored us for three weeks. Unacceptable.",
    ...                                 "We liked the team, but it was too expensive. Sadly not for us.",
    ...                                 "Our company was acquired."]})
    >>> classify_tone(df)["tone"].tolist()
    ['frustrated', 'respectful', 'neutral']
    """
    th = load_themes(themes)
    texts = _texts(frame, text_col)
    sc = scores if scores is not None else score_verbatims(frame, text_col=text_col, lang_col=lang_col,
                                                           themes=th)
    m = _matchers(th)
    tone, rule, nf, nr = [], [], [], []
    for t, lg, s, lab in zip(texts, sc["language"], sc["sentiment_score"], sc["sentiment_label"]):
        if not t or lg is None or lab is None or lab is pd.NA:
            tone.append(None), rule.append(None), nf.append(np.nan), nr.append(np.nan)
            continue
        f_terms = m["tone"]["frustrated"][lg].terms_found(t, lg)
        r_terms = m["tone"]["respectful"][lg].terms_found(t, lg)
        f, r = len(f_terms), len(r_terms)
        shout = "!" in t or "！" in t or bool(re.search(r"\b[A-Z]{4,}\b", t))
        if lab == "negative" and f > r:
            tone.append("frustrated")
            rule.append("negative, frustration markers outweigh courtesy: " + ", ".join(f_terms))
        elif lab == "negative" and r == 0 and s <= _FRUSTRATED_SCORE and (f or shout):
            tone.append("frustrated")
            rule.append(f"strongly negative (score {s:.2f}) with no courtesy marker")
        elif r:
            tone.append("respectful")
            rule.append("courtesy markers: " + ", ".join(r_terms))
        elif lab == "positive":
            tone.append("respectful")
            rule.append("positive")
        else:
            tone.append("neutral")
            rule.append("no frustration or courtesy marker")
        nf.append(f)
        nr.append(r)
    return pd.DataFrame({"tone": pd.Series(tone, index=frame.index, dtype="object"),
                         "tone_rule": pd.Series(rule, index=frame.index, dtype="object"),
                         "frustration_markers": nf, "courtesy_markers": nr}, index=frame.index)


# --------------------------------------------------------------------------------------------
# Everything at once, and summaries
# --------------------------------------------------------------------------------------------

def read_verbatims(interviews: pd.DataFrame, *, text_col: str = "verbatim", lang_col: str | None = "language",
                   themes=None, competitor_col: str | None = "competitor", competitor_names=None,
                   reason_col: str = "primary_reason") -> pd.DataFrame:
    """Score, tone, themes, reason checks and redacted text for every non-blank verbatim.

    Returns
    -------
    DataFrame
        The rows of ``interviews`` with a verbatim (its original columns kept), plus ``language``,
        ``sentiment_score``, ``sentiment_label``, ``tone``, ``tone_rule``, one count column per theme
        (prefixed ``mentions_``), ``suggested_reason``, ``reason_flag``, ``reason_note`` and
        ``verbatim_redacted``. The input is not changed.

    Examples
    --------
    >>> df = pd.DataFrame({"account_id": ["A1", "A2"], "primary_reason": ["price_budget", ""],
    ...                    "verbatim": ["Globex came in at half the cost. Call 415-555-0100.", ""]})
    >>> out = read_verbatims(df)
    >>> len(out), out["verbatim_redacted"].iloc[0]
    (1, 'Globex came in at half the cost. Call [phone].')
    """
    th = load_themes(themes)
    texts = _texts(interviews, text_col)
    lang_col = lang_col if lang_col and lang_col in interviews.columns else None
    data = interviews.loc[texts != ""].copy()
    sc = score_verbatims(data, text_col=text_col, lang_col=lang_col, themes=th)
    tone = classify_tone(data, text_col=text_col, scores=sc, themes=th)
    cnt = count_mentions(data, themes=th, text_col=text_col, lang_col=lang_col,
                         competitor_col=competitor_col, competitor_names=competitor_names)
    chk = check_reasons(data, themes=th, text_col=text_col, lang_col=lang_col, reason_col=reason_col,
                        competitor_col=competitor_col, competitor_names=competitor_names, mentions=cnt)
    out = data.drop(columns=[c for c in ("language",) if c in data.columns])
    out = pd.concat([out, sc, tone[["tone", "tone_rule"]], cnt.add_prefix("mentions_"),
                     chk[["suggested_reason", "reason_flag", "reason_note"]]], axis=1)
    out["verbatim_redacted"] = redact(data[text_col].astype(str))
    return out


def _group_cols(frame, by):
    by = [by] if isinstance(by, str) else list(by or [])
    data = frame.copy()
    for b in by:
        if data[b].dtype == object:
            data[b] = data[b].fillna("no_reason" if b == "primary_reason" else "(missing)").replace(
                "", "no_reason" if b == "primary_reason" else "(missing)")
    return data, by


def _shares(frame, col, cats, by):
    data, by = _group_cols(frame[frame[col].notna()], by)
    rows = []
    groups = data.groupby(by, dropna=False, observed=True) if by else [((), data)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        n = len(g)
        for c in cats:
            rows.append({**dict(zip(by, key)), col: c, "n": int((g[col] == c).sum()), "verbatims": n})
    out = pd.DataFrame(rows, columns=by + [col, "n", "verbatims"])
    out["share"] = out["n"] / out["verbatims"].where(out["verbatims"] > 0)
    out["share_lo"], out["share_hi"] = wilson_interval(out["n"], out["verbatims"])
    return out


def label_shares(scored: pd.DataFrame, *, by=None) -> pd.DataFrame:
    """Share of negative / neutral / positive verbatims, overall or by group.

    Returns long form ``[by...,] sentiment_label, n, verbatims, share, share_lo, share_hi``; a blank
    ``primary_reason`` is shown as ``no_reason``.

    Examples
    --------
    >>> df = pd.DataFrame({"sentiment_label": ["negative", "negative", "positive", "neutral"]})
    >>> label_shares(df)["share"].tolist()
    [0.5, 0.25, 0.25]
    """
    return _shares(scored, "sentiment_label", LABELS, by)


def tone_shares(scored: pd.DataFrame, *, by=None) -> pd.DataFrame:
    """Share of frustrated / respectful / neutral verbatims, overall or by group (long form).

    Examples
    --------
    >>> df = pd.DataFrame({"tone": ["frustrated", "respectful", "respectful", "neutral"],
    ...                    "segment": ["SMB", "SMB", "Enterprise", "Enterprise"]})
    >>> tone_shares(df, by="segment").query("segment == 'SMB'")["share"].tolist()
    [0.5, 0.5, 0.0]
    """
    return _shares(scored, "tone", TONES, by)


def sentiment_summary(scored: pd.DataFrame, *, by=None) -> pd.DataFrame:
    """Per group: verbatims, mean and median score, shares negative / positive and frustrated.

    Examples
    --------
    >>> df = pd.DataFrame({"sentiment_score": [-0.8, -0.2, 0.6], "sentiment_label": ["negative", "neutral", "positive"],
    ...                    "tone": ["frustrated", "neutral", "respectful"]})
    >>> sentiment_summary(df)[["verbatims", "mean_score", "share_negative"]].round(3).to_dict("records")
    [{'verbatims': 3, 'mean_score': -0.133, 'share_negative': 0.333}]
    """
    data, by = _group_cols(scored[scored["sentiment_score"].notna()], by)
    groups = data.groupby(by, dropna=False, observed=True) if by else [((), data)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = {**dict(zip(by, key)), "verbatims": int(len(g)), "mean_score": float(g["sentiment_score"].mean()),
               "median_score": float(g["sentiment_score"].median()),
               "share_negative": float((g["sentiment_label"] == "negative").mean()),
               "share_positive": float((g["sentiment_label"] == "positive").mean())}
        if "tone" in g.columns:
            row["share_frustrated"] = float((g["tone"] == "frustrated").mean())
            row["share_respectful"] = float((g["tone"] == "respectful").mean())
        rows.append(row)
    columns = [*by, "verbatims", "mean_score", "median_score", "share_negative", "share_positive"]
    if "tone" in data.columns:
        columns += ["share_frustrated", "share_respectful"]
    return pd.DataFrame(rows, columns=columns)   # the columns also when no verbatim has a score


# --------------------------------------------------------------------------------------------
# Distinctive terms
# --------------------------------------------------------------------------------------------

_EN_STOP = frozenset("""a an the and or but if of to in on at for with from by as is are was were be been
being it its this that these those we our us you your they their them i me my he she his her not no so
too very just than then there here have has had do does did would could should can will may might must
also only more most much many some any all into out up down over about after before when while which who
what where how why because after again once per each other such own same few s t don't didn't
couldn't wasn't isn't weren't won't wouldn't it's that's we'd we've we're i'm""".split())
_JA_CONTENT = ("名詞", "動詞", "形容詞")
_JA_STOP = frozenset("する ある いる なる れる られる せる こと もの よう ため の ん さん それ これ ない 当社 うち 私 私たち".split())


def _terms_of(text: str, lang: str) -> list[str]:
    if lang == "ja":
        out = []
        for surface, pos, lemma in _ja_tokens(redact(text, email=" ", phone=" ", url=" ")):
            if pos in _JA_CONTENT and lemma not in _JA_STOP and not re.fullmatch(r"[0-9０-９.]+", lemma) \
                    and len(lemma) > 1:
                out.append(lemma)
        return out
    t = _sm.normalise_en(redact(text, email=" ", phone=" ", url=" "))
    return [w for w in re.findall(r"[a-z][a-z'\-]+", t) if w not in _EN_STOP and len(w) > 2]


def distinctive_terms(frame: pd.DataFrame, *, by: str = "primary_reason", text_col: str = "verbatim",
                      lang_col: str | None = None, top: int = 8, min_count: int = 3) -> pd.DataFrame:
    """Words that set each group's verbatims apart from the rest (log-odds with a Dirichlet prior).

    Uses the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn
    2008): for each group and term, the z-score of the log-odds of the term in the group against all
    other groups. English words are lower-cased without stop words; Japanese terms are MeCab
    dictionary forms of nouns, verbs and adjectives.

    Returns
    -------
    DataFrame
        ``[by], language, term, count, z`` (top ``top`` per group and language with ``z > 1.96``,
        most distinctive first).

    Examples
    --------
    >>> df = pd.DataFrame({"primary_reason": ["price_budget"] * 30 + ["service_support"] * 30,
    ...                    "verbatim": ["too expensive for us"] * 30 + ["support never replied"] * 30})
    >>> distinctive_terms(df, min_count=2).groupby("primary_reason")["term"].first().to_dict()
    {'price_budget': 'expensive', 'service_support': 'never'}
    """
    texts = _texts(frame, text_col)
    lang = _languages(frame, texts, lang_col)
    data, _ = _group_cols(pd.DataFrame({by: frame[by], "text": texts, "language": lang}), [by])
    data = data[data["text"] != ""]
    rows = []
    for lg, g in data.groupby("language"):
        docs = [set(_terms_of(t, lg)) for t in g["text"]]
        groups = g[by].to_numpy()
        total: dict = {}
        per: dict = {}
        for grp, d in zip(groups, docs):
            for w in d:
                total[w] = total.get(w, 0) + 1
                per.setdefault(grp, {})[w] = per.setdefault(grp, {}).get(w, 0) + 1
        if not total:
            continue
        a0 = sum(total.values())
        alpha = {w: c / a0 * 10.0 for w, c in total.items()}    # prior scaled to 10 pseudo-counts
        asum = sum(alpha.values())
        for grp, counts in per.items():
            n_i = sum(counts.values())
            n_j = a0 - n_i
            scored = []
            for w, c in counts.items():
                if c < min_count:
                    continue
                cj = total[w] - c
                aw = alpha[w]
                d = (math.log((c + aw) / (n_i + asum - c - aw))
                     - math.log((cj + aw) / (n_j + asum - cj - aw)))
                var = 1.0 / (c + aw) + 1.0 / (cj + aw)
                scored.append((w, c, d / math.sqrt(var)))
            scored.sort(key=lambda x: (-x[2], x[0]))
            for w, c, z in [s for s in scored if s[2] > 1.96][:top]:
                rows.append({by: grp, "language": lg, "term": w, "count": int(c), "z": round(float(z), 2)})
    return pd.DataFrame(rows, columns=[by, "language", "term", "count", "z"])


# --------------------------------------------------------------------------------------------
# Reason checks
# --------------------------------------------------------------------------------------------

def check_reasons(frame: pd.DataFrame, *, themes=None, text_col: str = "verbatim", lang_col: str | None = None,
                  reason_col: str = "primary_reason", competitor_col: str | None = "competitor",
                  competitor_names=None, mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """A suggested primary reason from the text, and a flag where the text contradicts the chosen one.

    The suggestion combines (a) keyword evidence: hits of each reason's keywords and of the themes
    that point to it (``reason:`` in the themes file), and (b) when at least 30 verbatims of the
    same frame have a reason, a logistic regression over their words and character n-grams trained
    on those verbatims - so it learns the customer base's own vocabulary. Where (b) exists it
    decides, with the keyword evidence as extra features.

    Flags (for the analyst to review, never applied automatically):

    * ``competitor_named`` - a competitor is named in the text but the reason is not competitive loss;
    * ``text_suggests_other`` - the text has keyword evidence for another reason and none for the
      chosen one, and the suggestion agrees with that other reason.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: ``suggested_reason``, ``suggestion_confidence`` (0-1),
        ``reason_flag`` (``competitor_named`` / ``text_suggests_other`` / missing) and
        ``reason_note`` (plain sentence for the analyst).

    Examples
    --------
    >>> df = pd.DataFrame({"primary_reason": ["price_budget", ""],
    ...                    "verbatim": ["Globex came in at half the cost.", "Support never answered our tickets."]})
    >>> out = check_reasons(df, competitor_names=["Globex"])
    >>> out["reason_flag"].tolist(), out["suggested_reason"].tolist()[1]
    (['competitor_named', None], 'service_support')
    """
    th = load_themes(themes)
    texts = _texts(frame, text_col)
    lang = _languages(frame, texts, lang_col)
    names = _competitor_names(frame, competitor_col, competitor_names)
    m = _matchers(th, names)
    reasons = list(th["reasons"])
    theme_reason = {c: s["reason"] for c, s in th["themes"].items() if s.get("reason")}
    for r in theme_reason.values():
        if r not in reasons:
            reasons.append(r)
    cnt = mentions if mentions is not None else count_mentions(
        frame, themes=th, text_col=text_col, lang_col=lang_col, competitor_col=competitor_col,
        competitor_names=competitor_names)
    ev = np.zeros((len(frame), len(reasons)))
    for i, (t, lg) in enumerate(zip(texts, lang)):
        if not lg:
            continue
        for j, r in enumerate(reasons):
            if r in m["reasons"]:
                ev[i, j] += m["reasons"][r][lg].count(t, lg)
        for code, r in theme_reason.items():
            v = cnt.iloc[i][code]
            if pd.notna(v):
                ev[i, reasons.index(r)] += 0.5 * float(v)
    chosen = (frame[reason_col].fillna("").astype(str).str.strip() if reason_col in frame.columns
              else pd.Series("", index=frame.index))
    chosen = chosen.replace({"no_reason": ""})
    # keyword suggestion
    kw_best = np.where(ev.max(axis=1) > 0, np.asarray(reasons, dtype=object)[ev.argmax(axis=1)], None)
    kw_conf = np.where(ev.sum(axis=1) > 0, ev.max(axis=1) / np.maximum(ev.sum(axis=1), 1e-9), 0.0)
    sugg = pd.Series(kw_best, index=frame.index, dtype="object")
    conf = pd.Series(kw_conf, index=frame.index, dtype=float)
    labelled = (chosen != "") & (texts != "")
    if labelled.sum() >= 30 and chosen[labelled].nunique() >= 2:
        sugg, conf = _learned_suggestion(texts, lang, chosen, labelled, ev, sugg, conf)
    sugg = sugg.where(texts != "", None)
    flag = pd.Series([None] * len(frame), index=frame.index, dtype="object")
    note = pd.Series([None] * len(frame), index=frame.index, dtype="object")
    comp_terms = m["themes"].get("competitors")
    name_re = re.compile("|".join(re.escape(n) for n in names), re.I) if names else None
    for i, idx in enumerate(frame.index):
        t, lg, c = texts.iloc[i], lang.iloc[i], chosen.iloc[i]
        if not t or not c:
            continue
        named = name_re.findall(t) if name_re is not None else []
        if c != "competitive_loss" and named:
            flag[idx] = "competitor_named"
            note[idx] = (f"The text names {', '.join(sorted(set(named)))} but the reason chosen is {c}; "
                         "consider competitive_loss.")
            continue
        if c in reasons:
            own = ev[i, reasons.index(c)]
            other = ev[i].max()
            s = sugg.iloc[i]
            if own == 0 and other >= 1 and s and s != c and ev[i, reasons.index(s)] > 0:
                flag[idx] = "text_suggests_other"
                note[idx] = f"The text reads like {s} but the reason chosen is {c}."
    del comp_terms
    return pd.DataFrame({"suggested_reason": sugg, "suggestion_confidence": conf.round(3),
                         "reason_flag": flag, "reason_note": note}, index=frame.index)


def _learned_suggestion(texts, lang, chosen, labelled, ev, sugg, conf):
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    docs_w, docs_c = [], []
    for t, lg in zip(texts, lang):
        if not t or not lg:
            docs_w.append([]), docs_c.append([])
            continue
        docs_w.append(_terms_of(t, lg))
        docs_c.append(_sm.ja_chars(t, 2, 3) if lg == "ja" else _sm.en_chars(_sm.normalise_en(t), 3, 5))
    lab = labelled.to_numpy()
    w = _sm.TfIdf.fit([d for d, k in zip(docs_w, lab) if k], min_df=1)
    c = _sm.TfIdf.fit([d for d, k in zip(docs_c, lab) if k], min_df=2)
    evn = ev / np.maximum(ev.sum(axis=1, keepdims=True), 1.0)
    X = sparse.hstack([w.transform(docs_w), c.transform(docs_c), sparse.csr_matrix(evn)]).tocsr()
    clf = LogisticRegression(C=10.0, max_iter=3000)
    clf.fit(X[lab], chosen[labelled].to_numpy())
    P = clf.predict_proba(X)
    best = np.asarray(clf.classes_, dtype=object)[P.argmax(axis=1)]
    return (pd.Series(best, index=texts.index, dtype="object"),
            pd.Series(P.max(axis=1), index=texts.index, dtype=float))


# --------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------

def _shingles(text: str) -> set:
    t = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower())
    return {t[i:i + 4] for i in range(max(len(t) - 3, 1))}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _typicality(sh: list[set], block_cells: int = 1 << 22) -> np.ndarray:
    """Mean Jaccard similarity of each shingle set with the others (1.0 for a lone one).

    The same figures as comparing every pair with :func:`_jaccard`, computed with a sparse
    incidence matrix: intersections are one sparse product, a block of rows at a time (at most
    ``block_cells`` similarities in memory), and each row is summed as a dense row, so the sums are
    bit for bit those of the pairwise way.
    """
    from scipy import sparse

    n = len(sh)
    if n == 1:
        return np.array([1.0])
    vocab: dict = {}
    indices: list[int] = []
    indptr = [0]
    for s in sh:
        indices.extend(vocab.setdefault(x, len(vocab)) for x in s)
        indptr.append(len(indices))
    X = sparse.csr_matrix((np.ones(len(indices), np.float64), np.array(indices, np.int64), np.array(indptr)),
                          shape=(n, len(vocab)))
    XT = X.T.tocsc()
    size = np.diff(indptr).astype(np.float64)
    out = np.empty(n)
    step = max(1, block_cells // n)
    for a in range(0, n, step):
        b = min(n, a + step)
        inter = (X[a:b] @ XT).toarray()
        sim = inter / (size[a:b, None] + size[None, :] - inter)
        sim[np.arange(b - a), np.arange(a, b)] = 0.0
        out[a:b] = sim.sum(axis=1) / (n - 1)
    return out


def select_quotes(scored: pd.DataFrame, *, by: str = "primary_reason", text_col: str = "verbatim",
                  n_representative: int = 2, n_strongest: int = 2, max_similarity: float = 0.5,
                  max_chars: int = 400) -> pd.DataFrame:
    """Representative and strongest quotes per group, redacted, without near duplicates.

    * representative - closest to the group's typical wording (highest mean character 4-gram overlap
      with the group's other verbatims), preferring a score near the group's median;
    * strongest - the most strongly felt (largest ``|sentiment_score|``), negative first.

    A candidate whose character 4-gram Jaccard similarity with an already chosen quote of the group
    exceeds ``max_similarity`` is skipped. Quotes are redacted (:func:`redact`) and cut at
    ``max_chars``; they are plain text - publish them with :func:`quotes_html`.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`read_verbatims` (needs the text, ``sentiment_score``; ``tone`` and
        ``language`` are carried along when present).

    Returns
    -------
    DataFrame
        ``[by], kind (representative / strongest), rank, quote, language, sentiment_score,
        sentiment_label, tone`` and the row's original index as ``row``.

    Examples
    --------
    >>> df = pd.DataFrame({"primary_reason": ["price_budget"] * 3,
    ...                    "verbatim": ["Too expensive.", "Too expensive!", "Way over budget, mail me at a@b.com"],
    ...                    "sentiment_score": [-0.5, -0.6, -0.9]})
    >>> q = select_quotes(df, n_representative=1, n_strongest=1)
    >>> q[["kind", "quote"]].values.tolist()
    [['representative', 'Too expensive!'], ['strongest', 'Way over budget, mail me at [email]']]
    """
    data, by_l = _group_cols(scored[_texts(scored, text_col) != ""], [by])
    rows = []
    for grp, g in data.groupby(by, dropna=False):
        texts = g[text_col].astype(str).tolist()
        sh = [_shingles(t) for t in texts]
        n = len(texts)
        typ = _typicality(sh)
        score = g["sentiment_score"].to_numpy(dtype=float)
        med = np.nanmedian(score) if np.isfinite(score).any() else 0.0
        rep_key = typ - 0.1 * np.abs(np.nan_to_num(score - med))
        chosen: list[int] = []

        def take(order, k, kind):
            got = 0
            for i in order:
                if got >= k:
                    break
                if i in chosen or any(_jaccard(sh[i], sh[j]) > max_similarity for j in chosen):
                    continue
                chosen.append(i)
                got += 1
                q = redact(texts[i])
                if len(q) > max_chars:
                    q = q[: max_chars - 1].rstrip() + "…"
                r = g.iloc[i]
                rows.append({by: grp, "kind": kind, "rank": got, "quote": q,
                             "language": r.get("language"), "sentiment_score": r.get("sentiment_score"),
                             "sentiment_label": r.get("sentiment_label"), "tone": r.get("tone"),
                             "row": g.index[i]})

        take(sorted(range(n), key=lambda i: (-rep_key[i], i)), n_representative, "representative")
        strength = np.where(np.isfinite(score), -np.abs(score) - 0.001 * (score < 0), 0.0)
        take(sorted(range(n), key=lambda i: (strength[i], i)), n_strongest, "strongest")
    return pd.DataFrame(rows, columns=[by, "kind", "rank", "quote", "language", "sentiment_score",
                                       "sentiment_label", "tone", "row"])


def quotes_html(quotes: pd.DataFrame, *, by: str = "primary_reason", labels: dict | None = None,
                english_labels: dict | None = None) -> str:
    """Quotes as HTML: one block per group, every piece of customer text redacted and escaped.

    Each quote is followed by its kind, tone and score. In an English report a Japanese quote also
    gets its reason and its sentiment in English beside it, so a reader who does not read Japanese
    knows what it is about and how it was felt. In a Japanese report (:mod:`churnlab.i18n`) the words
    around the quotes are Japanese; the quotes stay as the customers wrote them.

    Parameters
    ----------
    labels : dict, optional
        Display names of the groups (e.g. reason code -> label).
    english_labels : dict, optional
        English names of the groups, shown beside Japanese quotes in an English report (default
        ``labels``).

    Examples
    --------
    >>> q = pd.DataFrame({"primary_reason": ["price_budget"], "kind": ["strongest"], "rank": [1],
    ...                   "quote": ["<script>x</script> call 03-1234-5678"], "tone": ["frustrated"],
    ...                   "sentiment_score": [-0.9]})
    >>> h = quotes_html(q)
    >>> "<script>" in h, "&lt;script&gt;" in h, "03-1234" in h
    (False, True, False)
    >>> ja = pd.DataFrame({"primary_reason": ["price_budget"], "kind": ["representative"], "rank": [1],
    ...                    "quote": ["高すぎる。"], "language": ["ja"], "sentiment_label": ["negative"]})
    >>> "(reason: Price / budget, sentiment: negative, representative)" in quotes_html(
    ...     ja, labels={"price_budget": "価格・予算"}, english_labels={"price_budget": "Price / budget"})
    True
    """
    from churnlab.i18n import report_language, t
    from churnlab.presentation import escape

    labels = labels or {}
    english = report_language() == "en"
    tones = _TONE_LABELS["en" if english else "ja"]
    parts = ['<div class="churnlab-quotes">']
    for grp, g in quotes.groupby(by, sort=False):
        parts.append(f"<h4>{escape(labels.get(grp, grp))}</h4><ul>")
        for r in g.itertuples():
            meta = [t(str(r.kind))]
            if english and getattr(r, "language", None) == "ja":
                meta = [f"reason: {(english_labels or labels).get(grp, grp)}"] + (
                    [f"sentiment: {r.sentiment_label}"] if isinstance(getattr(r, "sentiment_label", None), str)
                    else []) + meta
            if getattr(r, "tone", None) and isinstance(r.tone, str):
                tone = tones.get(r.tone, r.tone)
                meta.append(tone.lower() if english else tone)
            s = getattr(r, "sentiment_score", None)
            if s is not None and pd.notna(s):
                meta.append(t("score {score}", score=f"{float(s):+.2f}"))
            parts.append(f"<li>&ldquo;{escape(redact(str(r.quote)))}&rdquo; "
                         f"<small>({escape(t(', ').join(meta))})</small></li>")
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def tone_label(tone: str, lang: str = "en") -> str:
    """Display label of a tone code.

    Examples
    --------
    >>> tone_label("respectful")
    'Disappointed but respectful'
    """
    return _TONE_LABELS[lang].get(tone, tone)
