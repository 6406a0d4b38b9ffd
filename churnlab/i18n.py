"""The language of the published review: English (the default) or Japanese.

The *report language* is what ``churnlab review --lang ja`` sets: the headings, sentences, table
headers, chart labels, taxonomy labels and the index are written in it; the figures are the same in
every language. It is distinct from ``analysis.language`` of the data config (the language of the
taxonomy labels in an English report) and from the language of the exit verbatims (detected per
verbatim).

The review passes the report language to every notebook kernel in the environment variable
:data:`LANG_ENV`; a notebook run by hand in JupyterLab has none and is English.

Texts are translated through one catalogue per language, ``churnlab/locale/<lang>.txt``: English
text (a template with named ``{placeholders}``) -> translated template with the same placeholders.

* :func:`t` - a template the code writes: ``t("Logo attrition was {rate} in {quarter}.", rate=..., quarter=...)``.
* :func:`translate` - a sentence the analyses already wrote in English: the catalogue entry whose
  template matches it gives the translation, its placeholders filled with the values found in the
  sentence. A text of several sentences is translated sentence by sentence.
* :func:`translate_markdown` - a notebook's Markdown cell, block by block (headings, paragraphs).

A text missing from the catalogue stays English, and is recorded: in :data:`MISSES` and, when the
environment variable :data:`MISSES_ENV` names a file, appended to it (one JSON string a line), so a
test can list every untranslated text of a whole review. Customer text (segment names, verbatims,
competitor names) is never looked up; it stays as written and is escaped where it is shown.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from pathlib import Path

__all__ = ["LANG_ENV", "MISSES_ENV", "LANGUAGES", "report_language", "using", "t", "translate",
           "translate_markdown", "catalogue", "MISSES", "html_lang", "word"]

#: Environment variable holding the report language (``en`` or ``ja``) for the notebook kernels.
LANG_ENV = "CHURNLAB_REPORT_LANG"
#: Environment variable naming a file where untranslated texts are appended (tests).
MISSES_ENV = "CHURNLAB_I18N_MISSES"
#: The report languages.
LANGUAGES = ("en", "ja")
#: Texts looked up in this process and not found in the catalogue.
MISSES: set[str] = set()

_LOCALE = Path(__file__).resolve().parent / "locale"
_FIELD = re.compile(r"\{(\w+)(?::[^{}]*)?\}")
# a sentence ends at . ! ? (or a closing parenthesis / quote after one) before a space and a letter or digit
_SENTENCE_END = re.compile(r"(?<=[.!?])[\)\"']?\s+(?=[A-Za-z0-9(\"'])")


def report_language() -> str:
    """The report language of this process: :data:`LANG_ENV`, else ``"en"``.

    Examples
    --------
    >>> with using("ja"):
    ...     report_language()
    'ja'
    >>> report_language()
    'en'
    """
    lang = os.environ.get(LANG_ENV, "").strip().lower()
    return lang if lang in LANGUAGES else "en"


def check_language(lang) -> str:
    """``lang`` as a report language; anything else is a :class:`churnlab.config.ConfigError`."""
    from .config import ConfigError

    value = str(lang or "en").strip().lower()
    if value not in LANGUAGES:
        raise ConfigError(f"--lang {lang!r}: the report languages are {', '.join(LANGUAGES)}")
    return value


@contextlib.contextmanager
def using(lang: str):
    """Within the block the report language is ``lang`` (also for the kernels started in it)."""
    before = os.environ.get(LANG_ENV)
    os.environ[LANG_ENV] = check_language(lang)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(LANG_ENV, None)
        else:
            os.environ[LANG_ENV] = before


def html_lang() -> str:
    """The ``lang`` attribute of the pages: the report language."""
    return report_language()


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def read_catalogue(path) -> dict[str, str]:
    """A catalogue file: ``en:`` / ``ja:`` line pairs (a line starting with spaces continues the one
    above; ``#`` starts a comment line) as ``{normalised English: translation}``.

    The format is tested in ``tests/test_i18n.py``.
    """
    out: dict[str, str] = {}
    key = value = None
    field = None

    def unquote(text):   # a text written in quotes (as YAML would need) is the text inside them
        text = text.strip()
        return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text

    def close():
        if key is not None and value is not None:
            out[_norm(unquote(key))] = unquote(value)

    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("en:"):
            close()
            key, value, field = line[3:].strip(), None, "en"
        elif line.startswith(("ja:", "tr:")):
            value, field = line[3:].strip(), "tr"
        elif line[:1].isspace() and line.strip() and field:
            if field == "en":
                key += "\n" + line.strip()
            else:
                value += "\n" + line.strip()
        elif not line.strip():
            field = None if field == "tr" else field
    close()
    return out


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The catalogue of ``lang`` (``churnlab/locale/<lang>.txt``): normalised English -> translation."""
    path = _LOCALE / f"{lang}.txt"
    if lang == "en" or not path.exists():
        return {}
    return read_catalogue(path)


#: Letters a template needs besides its placeholders to be matched by :func:`translate`.
_MIN_LITERAL = 5


@functools.lru_cache(maxsize=None)
def _patterns(lang: str):
    """Templates with placeholders as regular expressions, most specific (longest literal text) first."""
    pats = []
    for key, value in catalogue(lang).items():
        names = _FIELD.findall(key)
        if not names or len(set(names)) != len(names):
            continue
        parts, pos = [], 0
        for m in _FIELD.finditer(key):
            parts.append(re.escape(key[pos:m.start()]))
            parts.append(f"(?P<{m.group(1)}>(?:(?!\\. ).)+?)")   # a value never spans two sentences
            pos = m.end()
        parts.append(re.escape(key[pos:]))
        literal = len(_FIELD.sub("", key))
        if len("".join(_FIELD.sub("", key).split())) < _MIN_LITERAL:
            continue   # too little text of its own ("{y} by {x}") to recognise a sentence by: t() only
        # a template that starts and ends with its own words is more specific than one that starts
        # or ends with a placeholder (which would swallow any text there)
        anchored = (not key.startswith("{")) + (not key.rstrip(".").endswith("}"))
        pats.append(((anchored, literal), re.compile("".join(parts) + r"\Z", re.S), value))
    pats.sort(key=lambda p: (-p[0][0], -p[0][1]))
    return pats


def _record(text: str) -> None:
    text = _norm(text)
    if not text or text in MISSES:
        return
    MISSES.add(text)
    path = os.environ.get(MISSES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(text, ensure_ascii=False) + "\n")


def _needs_words(text: str) -> bool:
    """Whether ``text`` has English words to translate (not only numbers, codes and signs)."""
    return bool(re.search(r"[A-Za-z]{2,}", text))


#: Separators between the parts of a composed sentence.
_PUNCTUATION = {"ja": {"; ": "、", ".": "。", " ": "", ", ": "、"}}


def t(template: str, /, **values) -> str:
    """``template`` in the report language, with ``values`` filled in (``str.format``).

    Examples
    --------
    >>> t("Logo attrition was {rate} in {quarter}.", rate="4.9%", quarter="2026Q3")
    'Logo attrition was 4.9% in 2026Q3.'
    >>> with using("ja"):
    ...     t("Key findings")
    '主な結果'
    """
    lang = report_language()
    text = template
    if lang != "en" and template in _PUNCTUATION.get(lang, {}):
        text = _PUNCTUATION[lang][template]
    elif lang != "en":
        found = catalogue(lang).get(_norm(template))
        if found is None:
            _record(template)
        else:
            text = found
    return text.format(**values) if values else text


def word(text) -> str:
    """A single label (a direction, yes / no, a status) in the report language; unknown ones as they are."""
    if report_language() == "en" or not isinstance(text, str):
        return text
    cat, key = catalogue(report_language()), _norm(text)
    if key not in cat and key[:1].isupper() and key[1:2].islower():
        key = key[:1].lower() + key[1:]   # a label capitalised for a table cell
    return cat.get(key, text)


def _one(sentence: str, lang: str, record: bool) -> str | None:
    cat = catalogue(lang)
    key = _norm(sentence)
    if key in cat:
        return cat[key]
    if key[:1].isupper() and key[1:2].islower() and key[:1].lower() + key[1:] in cat:
        return cat[key[:1].lower() + key[1:]]   # a label capitalised for a table cell or a list
    for _, pat, value in _patterns(lang):
        m = pat.match(key)
        if m:
            # a value is translated when it is itself an entry or a sentence of the catalogue (a list
            # of clauses); anything else (a figure, a customer's label) is kept as written
            fields = {k: _value(v, lang) for k, v in m.groupdict().items()}
            return _FIELD.sub(lambda f: fields[f.group(1)], value)
    return None


def _split_list(text: str) -> list[str]:
    """The items of a list written in English ("a; b", "a, b and c"), split outside parentheses."""
    seps = ["; "] if "; " in text else [", and ", ", ", " and "]
    items, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += ch in "([（" and 1 or 0
        depth -= ch in ")]）" and 1 or 0
        hit = next((s for s in seps if depth == 0 and text.startswith(s, i)), None)
        if hit:
            items.append(text[start:i])
            i = start = i + len(hit)
            continue
        i += 1
    items.append(text[start:])
    return [x.strip() for x in items if x.strip()]


def _value(v: str, lang: str) -> str:
    """A placeholder's value: translated when it is an entry or a sentence of the catalogue, or a list
    of which some items are; anything else (a figure, a customer's label) is kept as written."""
    if not _needs_words(v):
        return v
    items = _split_list(v)
    clauses = len(items) > 1 and "; " in v   # clauses: each is translated on its own
    one = None if clauses else _one(v, lang, False)
    if one is not None:
        return one
    if len(items) > 1:
        done = [_value(x, lang) for x in items]
        if done != items:
            return "、".join(done)
    return (_one(v, lang, False) or v) if clauses else v


def known(text) -> bool:
    """Whether the catalogue of the report language has ``text`` as a whole (an entry or a template)."""
    lang = report_language()
    return lang != "en" and isinstance(text, str) and _one(text, lang, False) is not None


def translate(text, *, record: bool = True):
    """An English sentence (or a text of sentences) of churnlab in the report language.

    The catalogue entry equal to the text, or the template that matches it (placeholders stand for
    any text), gives the translation; a placeholder's value is itself translated when the catalogue
    has it as an entry (a direction word), else kept as written (a figure, a customer's label).
    A text of several sentences no entry matches is translated sentence by sentence. What is not
    found stays English and is recorded (see :data:`MISSES`) unless ``record`` is false.

    Examples
    --------
    >>> translate("Logo attrition fell.")   # English report: unchanged
    'Logo attrition fell.'
    >>> with using("ja"):
    ...     translate("Monthly logo attrition")
    '月次ロゴ解約率'
    """
    lang = report_language()
    if lang == "en" or not isinstance(text, str) or not _needs_words(text):
        return text
    found = _one(text, lang, record)
    if found is not None:
        return found
    parts = _SENTENCE_END.split(_norm(text))
    if len(parts) > 1:
        done = [_one(p, lang, record) for p in parts]
        if any(d is not None for d in done):
            out = []
            for p, d in zip(parts, done):
                if d is None and record and _needs_words(p):
                    _record(p) if not _JAPANESE.search(p) else None
                out.append(d if d is not None else p + " ")
            return "".join(out).strip()
    if record and not _JAPANESE.search(text):   # a text with Japanese in it is already translated
        _record(text)
    return text


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def translate_markdown(source: str) -> str:
    """A Markdown cell in the report language, block by block (blank-line separated; a heading is a
    block of its own). Code spans and emphasis are part of the catalogue's entries."""
    if report_language() == "en":
        return source
    out = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = block.splitlines()
        m = _HEADING.match(lines[0]) if lines else None
        if m:
            out.append(f"{m.group(1)} {translate(m.group(2))}")
            rest = "\n".join(lines[1:]).strip()
            if rest:
                out.append(translate(rest))
        else:
            out.append(translate(block))
    return "\n\n".join(out)

