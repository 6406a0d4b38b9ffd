"""Why customers leave: the two-level reason taxonomy and the exit-interview analytics.

The taxonomy (``churnlab/taxonomy.yaml``, replaceable by the user's own file) holds primary reasons,
each with secondary reasons, and their English and Japanese labels. :func:`normalise_reasons` maps
whatever vocabulary the exit-interview export uses (canonical codes, taxonomy labels, Stripe's
cancellation feedback codes or the data config's own mapping) onto the taxonomy's codes, and refuses
values it cannot map instead of calling them "other".
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from churnlab.config import ConfigError
from churnlab.schema import LINE_COL, DataValidationError
from churnlab.stats import BLANK_LABEL, OTHER_LABEL, fill_blank, group_rare_levels

#: The shipped taxonomy.
TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
#: Code of a completed interview whose primary reason is blank ("no reason given"); never ``other``.
NO_REASON = "no_reason"
_NO_REASON_LABELS = {"en": "No reason given", "ja": "理由の回答なし"}
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGS = ("en", "ja")


# --------------------------------------------------------------------------------------------
# Taxonomy
# --------------------------------------------------------------------------------------------

def load_taxonomy(path=None) -> dict:
    """The taxonomy in force: the shipped ``churnlab/taxonomy.yaml``, or a user's file.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with the same layout as the shipped one. ``None`` (or ``""``) = the shipped file.

    Returns
    -------
    dict
        ``{"primary": {code: {"en", "ja", "secondary": {code: {"en", "ja"}}}},
        "no_reason": {"en", "ja"}, "vocabularies": {name: {value: "primary[/secondary]"}}}``.
        A reason without a Japanese label takes the Japanese label of the shipped taxonomy's reason of
        the same code, else its English label (the labels of a Japanese review, ``churnlab review --lang
        ja``); a user file without a ``stripe``
        vocabulary inherits the shipped one when its targets exist in the user's taxonomy.

    Raises
    ------
    ValueError
        When the file is not a valid taxonomy (the message says what and where).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> tax["primary"]["product_gap"]["en"], tax["primary"]["product_gap"]["ja"]
    ('Product gap', '製品機能の不足')
    >>> list(tax["primary"]["competitive_loss"]["secondary"])
    ['better_features', 'better_price', 'better_service', 'better_fit']
    """
    src = Path(path) if path else TAXONOMY_PATH
    try:
        raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"reason taxonomy file {str(src)!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"reason taxonomy {str(src)!r} is not valid YAML: {exc}") from None
    tax = _validate_taxonomy(raw, str(src))
    if path:
        _shipped_japanese(tax, raw, load_taxonomy())
    if path and "stripe" not in tax["vocabularies"]:
        shipped = load_taxonomy()["vocabularies"]["stripe"]
        try:
            for v in shipped.values():
                _target(v, tax, where="stripe")
            tax["vocabularies"]["stripe"] = dict(shipped)
        except ValueError:
            pass  # the user's taxonomy does not have the codes Stripe maps to; no stripe preset
    return tax


def _shipped_japanese(tax: dict, raw: dict, shipped: dict) -> None:
    """Give the reasons of a user's taxonomy written without ``ja:`` the shipped Japanese label of
    the same code (in place); a code the shipped taxonomy lacks keeps its English label."""
    ship_sec = {k: v for node in shipped["primary"].values() for k, v in node["secondary"].items()}

    def no_ja(node):
        return not (isinstance(node, dict) and str(node.get("ja") or "").strip())

    for code, node in raw["primary"].items():
        entry = tax["primary"][str(code)]
        if no_ja(node) and str(code) in shipped["primary"]:
            entry["ja"] = shipped["primary"][str(code)]["ja"]
        for scode, snode in (node.get("secondary") or {}).items():
            if no_ja(snode) and str(scode) in ship_sec:
                entry["secondary"][str(scode)]["ja"] = ship_sec[str(scode)]["ja"]
    if no_ja(raw.get("no_reason")):
        tax["no_reason"]["ja"] = shipped["no_reason"]["ja"]


def _validate_taxonomy(raw, src: str) -> dict:
    def bad(msg):
        raise ValueError(f"reason taxonomy {src!r}: {msg}")

    if not isinstance(raw, dict) or not isinstance(raw.get("primary"), dict) or not raw["primary"]:
        bad("needs a non-empty 'primary:' mapping of reason codes")

    def labels(node, where):
        if not isinstance(node, dict) or not str(node.get("en") or "").strip():
            bad(f"{where} needs an English label ('en:')")
        en = str(node["en"]).strip()
        ja = str(node.get("ja") or "").strip() or en
        return {"en": en, "ja": ja}

    primary, seen_sec = {}, {}
    for code, node in raw["primary"].items():
        code = str(code)
        if not _CODE_RE.match(code) or code == NO_REASON:
            bad(f"primary code {code!r} must be lower_snake_case and not {NO_REASON!r}")
        entry = labels(node, f"primary reason {code!r}")
        sec = node.get("secondary") or {}
        if not isinstance(sec, dict) or not sec:
            bad(f"primary reason {code!r} needs at least one secondary reason ('secondary:')")
        entry["secondary"] = {}
        for scode, snode in sec.items():
            scode = str(scode)
            if not _CODE_RE.match(scode):
                bad(f"secondary code {scode!r} (under {code!r}) must be lower_snake_case")
            entry["secondary"][scode] = labels(snode, f"secondary reason {code}/{scode}")
            seen_sec.setdefault(scode, []).append(code)
        primary[code] = entry
    nr = raw.get("no_reason")
    tax = {"primary": primary,
           "no_reason": labels(nr, "'no_reason'") if nr else dict(_NO_REASON_LABELS),
           "vocabularies": {}}
    for name, vocab in (raw.get("vocabularies") or {}).items():
        if not isinstance(vocab, dict):
            bad(f"vocabulary {name!r} must map values to reason codes")
        tax["vocabularies"][str(name)] = {str(k): str(v) for k, v in vocab.items()}
        for k, v in vocab.items():
            try:
                _target(str(v), tax, where=f"vocabulary {name!r}")
            except ValueError as exc:
                bad(str(exc))
    return tax


def reason_label(code, taxonomy: dict, *, lang: str = "en", level: str = "primary") -> str:
    """The reader-facing label of a reason code (``no_reason`` included).

    ``level="secondary"`` looks ``code`` up among the secondary reasons (or takes a
    ``"primary/secondary"`` pair). Unknown codes are returned unchanged.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> reason_label("price_budget", tax), reason_label("price_budget", tax, lang="ja")
    ('Price / budget', '価格・予算')
    >>> reason_label("integration_gap", tax, level="secondary")
    'Integration gap'
    """
    _check_lang(lang)
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return ""
    code = str(code)
    if code == NO_REASON:
        return taxonomy["no_reason"][lang]
    if level == "primary" and code in taxonomy["primary"]:
        return taxonomy["primary"][code][lang]
    if "/" in code:
        p, s = code.split("/", 1)
        return taxonomy["primary"].get(p, {}).get("secondary", {}).get(s, {}).get(lang, code)
    for p in taxonomy["primary"].values():
        if code in p["secondary"]:
            return p["secondary"][code][lang]
    return code


def taxonomy_table(taxonomy: dict) -> pd.DataFrame:
    """The taxonomy as a tidy table: ``primary, primary_en, primary_ja, secondary, secondary_en, secondary_ja``.

    Examples
    --------
    >>> t = taxonomy_table(load_taxonomy())
    >>> t.loc[t.secondary == "integration_gap", ["primary", "secondary_en"]].values.tolist()
    [['product_gap', 'Integration gap']]
    """
    rows = []
    for p, node in taxonomy["primary"].items():
        for s, snode in node["secondary"].items():
            rows.append({"primary": p, "primary_en": node["en"], "primary_ja": node["ja"],
                         "secondary": s, "secondary_en": snode["en"], "secondary_ja": snode["ja"]})
    return pd.DataFrame(rows)


def _check_lang(lang):
    if lang not in _LANGS:
        raise ValueError(f"lang must be one of {_LANGS}, not {lang!r}")


# --------------------------------------------------------------------------------------------
# Mapping other vocabularies onto the taxonomy
# --------------------------------------------------------------------------------------------

def _key(v) -> str:
    """Matching key: trimmed, inner whitespace collapsed, case-folded (full-width folded too)."""
    import unicodedata
    s = unicodedata.normalize("NFKC", str(v))
    return " ".join(s.split()).casefold()


def _is_blank(v) -> bool:
    if v is None:
        return True
    if not isinstance(v, str):
        try:
            return bool(pd.isna(v))
        except (TypeError, ValueError):
            return False
    return not v.strip()


def _canonical_lookup(taxonomy: dict):
    """key -> (primary, secondary|None) for primary values; key -> [(primary, secondary)] for secondary."""
    prim, sec = {}, {}
    for k in (NO_REASON, taxonomy["no_reason"]["en"], taxonomy["no_reason"]["ja"]):
        prim[_key(k)] = (None, None)       # the data's own "no reason given" values
    for p, node in taxonomy["primary"].items():
        for k in (p, node["en"], node["ja"]):
            prim.setdefault(_key(k), (p, None))
        for s, snode in node["secondary"].items():
            prim.setdefault(_key(f"{p}/{s}"), (p, s))
            for k in (s, snode["en"], snode["ja"], f"{p}/{s}"):
                lst = sec.setdefault(_key(k), [])
                if (p, s) not in lst:
                    lst.append((p, s))
    return prim, sec


def valid_codes(taxonomy: dict) -> str:
    """The reason codes a value can be mapped to, primary and secondary, for error messages.

    Examples
    --------
    >>> tax = {"primary": {"cost": {"secondary": {"high": {}, "budget": {}}}, "other": {"secondary": {"other": {}}}}}
    >>> valid_codes(tax)
    "primary codes with their secondary codes: cost (high, budget), other (other); a secondary reason is written 'primary/secondary' (e.g. 'cost/high'); 'no_reason' or an empty value means no reason given"
    """
    parts = [f"{p} ({', '.join(node['secondary'])})" for p, node in taxonomy["primary"].items()]
    p0 = next(iter(taxonomy["primary"]))
    s0 = next(iter(taxonomy["primary"][p0]["secondary"]))
    return ("primary codes with their secondary codes: " + ", ".join(parts)
            + f"; a secondary reason is written 'primary/secondary' (e.g. '{p0}/{s0}'); "
            f"'{NO_REASON}' or an empty value means no reason given")


def _means_no_reason(value) -> bool:
    """A mapping target that says "no reason given": empty, null, or ``no_reason``."""
    return _is_blank(value) or _key(value) in (NO_REASON, NO_REASON.replace("_", " "))


def _target(value, taxonomy: dict, *, where: str):
    """Resolve a mapping target ("primary", "primary/secondary", a label, or no reason) to
    (primary|None, secondary|None); (None, None) means no reason given."""
    if _means_no_reason(value):
        return (None, None)
    prim, _ = _canonical_lookup(taxonomy)
    got = prim.get(_key(value))
    if got is None:
        raise ConfigError(f"{where}: {str(value)!r} is not a reason of the taxonomy. Valid targets: "
                          f"{valid_codes(taxonomy)}.")
    return got


def _secondary_target(value, taxonomy: dict, *, where: str):
    if _means_no_reason(value):
        return [(None, None)]
    _, sec = _canonical_lookup(taxonomy)
    got = sec.get(_key(value))
    if not got:
        raise ConfigError(f"{where}: {str(value)!r} is not a secondary reason of the taxonomy. Valid targets: "
                          f"{valid_codes(taxonomy)}.")
    return got


def normalise_reasons(interviews: pd.DataFrame, *, taxonomy: dict, mapping: dict | str | None = None,
                      file: str | None = None) -> pd.DataFrame:
    """Return a copy with ``primary_reason`` / ``secondary_reason`` mapped to canonical codes.

    Values are matched after trimming and case-folding, first against the mapping, then against
    the taxonomy's codes and its English and Japanese labels. Blank values stay missing (``NA``);
    a completed interview with a blank primary reason is "no reason given" in the analyses, never
    "other". A value mapped to a ``"primary/secondary"`` pair also fills a blank secondary reason.

    Parameters
    ----------
    interviews : DataFrame
        The exit-interview table; other columns (``_line`` included) are kept as they are.
    taxonomy : dict
        From :func:`load_taxonomy`.
    mapping : None, str or dict
        ``None``: values are codes or labels of the taxonomy. ``"stripe"``: the primary reason holds
        Stripe's ``cancellation_details.feedback`` codes (``too_expensive``, ``missing_features``,
        ``switched_service``, ``unused``, ``customer_service``, ``too_complex``, ``low_quality``,
        ``other``). A dict ``{"primary_reason": {value: target}, "secondary_reason": {value: target}}``
        from the data config, where a target is a primary code, a ``"primary/secondary"`` pair or a
        taxonomy label, and ``no_reason`` or an empty value means "no reason given" (a "Don't know"
        answer: the interview counts as completed without a reason); the dict may add
        ``"preset": "stripe"`` to start from the Stripe codes.
    file : str, optional
        Source file named in errors.

    Returns
    -------
    DataFrame
        A copy with both columns as pandas ``string`` dtype holding canonical codes or ``NA``.

    Raises
    ------
    DataValidationError
        Listing the distinct values that cannot be mapped (column ``primary_reason`` or
        ``secondary_reason``), or the rows whose secondary reason does not belong to their primary.
    ConfigError
        When the mapping itself names a reason that is not in the taxonomy (the message names the
        config key and lists the valid primary and secondary codes).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> df = pd.DataFrame({"account_id": ["A", "B", "C"],
    ...                    "primary_reason": ["too_expensive", "switched_service", ""],
    ...                    "secondary_reason": [None, "Better price", None]})
    >>> out = normalise_reasons(df, taxonomy=tax, mapping="stripe")
    >>> out[["primary_reason", "secondary_reason"]].astype(object).values.tolist()
    [['price_budget', 'too_expensive'], ['competitive_loss', 'better_price'], [<NA>, <NA>]]
    """
    out = interviews.copy()
    for col in ("primary_reason", "secondary_reason"):
        if col not in out.columns:
            out[col] = pd.NA
    prim_map, sec_map = _user_maps(mapping, taxonomy)
    canon_prim, canon_sec = _canonical_lookup(taxonomy)

    # primary: resolve each distinct raw value once
    raw_p = out["primary_reason"]
    resolved_p, unmapped = {}, []
    for v in pd.unique(raw_p.dropna()):
        if _is_blank(v):
            continue
        k = _key(v)
        got = prim_map.get(k) or canon_prim.get(k)
        if got is None:
            unmapped.append(v)
        resolved_p[v] = got
    if unmapped:
        _raise_unmapped(out, "primary_reason", unmapped, taxonomy, file)
    p_code = raw_p.map(lambda v: None if _is_blank(v) else resolved_p[v][0])
    p_implied = raw_p.map(lambda v: None if _is_blank(v) else resolved_p[v][1])

    # secondary: a value may name several (primary, secondary) pairs; pick the one under the row's primary
    raw_s = out["secondary_reason"]
    cand, unmapped = {}, []
    for v in pd.unique(raw_s.dropna()):
        if _is_blank(v):
            continue
        k = _key(v)
        got = sec_map.get(k) or canon_sec.get(k)
        if not got:
            unmapped.append(v)
        cand[v] = got
    if unmapped:
        _raise_unmapped(out, "secondary_reason", unmapped, taxonomy, file)

    s_code, bad_rows = [], []
    for i, (p, imp, v) in enumerate(zip(p_code, p_implied, raw_s)):
        if _is_blank(v):
            s_code.append(imp)
            continue
        pairs = cand[v]
        if pairs == [(None, None)]:          # mapped to "no reason given"
            s_code.append(imp)
            continue
        match = [s for (pp, s) in pairs if pp == p]
        if p is None:
            s_code.append(pairs[0][1] if len(pairs) == 1 else None)
            if len(pairs) > 1:
                bad_rows.append(i)
        elif match:
            s_code.append(match[0])
        else:
            s_code.append(None)
            bad_rows.append(i)
    if bad_rows:
        ex = out.iloc[bad_rows]
        pairs = sorted({f"{p_code.iloc[i]} / {raw_s.iloc[i]}" for i in bad_rows}, key=str)
        raise DataValidationError(
            "exit_interviews", "secondary_reason",
            "with a secondary reason that does not belong to the primary reason ("
            + "; ".join(pairs[:10]) + ("; ..." if len(pairs) > 10 else "")
            + "). Fix the rows or map the values to a 'primary/secondary' pair in the data config",
            file=file, rows=len(bad_rows), examples=_example_cols(ex))
    out["primary_reason"] = pd.array(p_code.tolist(), dtype="string")
    out["secondary_reason"] = pd.array(s_code, dtype="string")
    return out


def _user_maps(mapping, taxonomy):
    """Mapping spec -> (primary key -> (p, s|None), secondary key -> [(p, s)])."""
    prim, sec = {}, {}
    if mapping is None or mapping == "" or mapping == {}:
        return prim, sec
    preset, spec = None, {}
    if isinstance(mapping, str):
        preset = mapping
    elif isinstance(mapping, dict):
        spec = dict(mapping)
        preset = spec.pop("preset", None) or spec.pop("vocabulary", None)
        unknown = set(spec) - {"primary_reason", "secondary_reason"}
        if unknown:
            raise ConfigError(f"data config tables.exit_interviews.reasons: unknown keys {sorted(unknown)}; "
                              "expected 'primary_reason', 'secondary_reason' and optionally 'preset'")
    else:
        raise ConfigError("data config tables.exit_interviews.reasons must be a preset name or a mapping, "
                          f"not {type(mapping).__name__}")
    if preset:
        vocab = taxonomy["vocabularies"].get(str(preset))
        if vocab is None:
            raise ConfigError(f"data config tables.exit_interviews.reasons: preset {preset!r} is not known; "
                              f"known: {sorted(taxonomy['vocabularies'])}")
        for k, v in vocab.items():
            prim[_key(k)] = _target(v, taxonomy, where=f"vocabulary {preset!r}")
    where = "data config tables.exit_interviews.reasons"
    for col in ("primary_reason", "secondary_reason"):
        if spec.get(col) is not None and not isinstance(spec[col], dict):
            raise ConfigError(f"{where}.{col} must map values to reason codes, not {type(spec[col]).__name__}")
    for k, v in (spec.get("primary_reason") or {}).items():
        prim[_key(k)] = _target(v, taxonomy, where=f"{where}.primary_reason[{str(k)!r}]")
    for k, v in (spec.get("secondary_reason") or {}).items():
        sec[_key(k)] = _secondary_target(v, taxonomy, where=f"{where}.secondary_reason[{str(k)!r}]")
    return prim, sec


def _example_cols(frame):
    cols = [c for c in (LINE_COL, "account_id", "primary_reason", "secondary_reason") if c in frame.columns]
    return frame[cols]


def _raise_unmapped(out, col, values, taxonomy, file):
    values = sorted({str(v) for v in values}, key=str.casefold)
    mask = out[col].map(lambda v: (not _is_blank(v)) and str(v) in values)
    shown = ", ".join(repr(v) for v in values[:20]) + (f" and {len(values) - 20} more" if len(values) > 20 else "")
    raise DataValidationError(
        "exit_interviews", col,
        f"with a value that is neither in the reason taxonomy nor in the data config's mapping: {shown}. "
        f"Map each value under the data config's tables.exit_interviews.reasons.{col}; "
        f"{valid_codes(taxonomy)}",
        file=file, rows=int(mask.sum()), examples=_example_cols(out[mask]))


# --------------------------------------------------------------------------------------------
# One row per invited churned account
# --------------------------------------------------------------------------------------------

#: Account columns carried into the interview frame when present.
ACCOUNT_COLS = ("churn_date", "segment", "industry", "region", "acquisition_channel", "plan", "mrr")
#: Group columns whose blanks are labelled :data:`~churnlab.stats.BLANK_LABEL` (never left out of a group).
_GROUP_COLS = ("segment", "industry", "region", "acquisition_channel", "plan", "format")
_NONE_WORDS = {"", "none", "n/a", "na", "-", "--", "no", "nobody", "unknown", "なし", "不明"}
_LEGAL = re.compile(r"(?:\b(?:inc|llc|ltd|limited|corp|corporation|co|company|gmbh|plc|kk|sa|ag|bv|"
                    r"oy|ab|pty|srl)\b\.?\s*)+$")


def normalise_competitor(values, *, aliases: dict | None = None, threshold: float = 0.85) -> pd.Series:
    """Normalise competitor names so that spelling variants count as one competitor.

    Names are compared on a key that ignores case, width, punctuation, spaces, a web suffix
    (``.com``, ``.io`` ...) and legal suffixes (Inc, Ltd, GmbH, 株式会社 ...); keys that are nearly
    the same (``difflib`` ratio >= ``threshold``, both at least 5 characters) are merged, so
    ``"Bright wave"``, ``"brightwave.io"`` and ``"Brigthwave"`` are one competitor; a name that extends
    another by whole words (``"Brightwave Analytics"`` after ``"Brightwave"``) is the same competitor
    too (both names at least 5 characters). Each group is shown
    under its most frequent spelling. ``aliases`` (``{variant: name}``, from the data config) are
    applied first. Blank values and "none" / "n/a" become ``NA``.

    Parameters
    ----------
    values : Series or list of str
    aliases : dict, optional
    threshold : float
        Similarity above which two keys are the same name.

    Returns
    -------
    Series of str (``string`` dtype), aligned with ``values``.

    Examples
    --------
    >>> normalise_competitor(["Brightwave", "brightwave inc.", "Bright-Wave", "Brigthwave", "BrightWave Analytics",
    ...                       "Acme", "", "n/a"]).tolist()
    ['Brightwave', 'Brightwave', 'Brightwave', 'Brightwave', 'Brightwave', 'Acme', <NA>, <NA>]
    """
    import difflib
    import unicodedata

    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    alias = {_comp_key(k): str(v).strip() for k, v in (aliases or {}).items()}

    def clean(v):
        if _is_blank(v):
            return None
        t = " ".join(unicodedata.normalize("NFKC", str(v)).split())
        if t.casefold().strip(" .") in _NONE_WORDS:
            return None
        return alias.get(_comp_key(t), t)

    cleaned = s.map(clean)
    keys = cleaned.map(lambda t: None if t is None else _comp_key(t))
    counts = keys.value_counts()
    tokens = {}
    for t, k in zip(cleaned, keys):
        if k is not None and k not in tokens:
            tokens[k] = _comp_tokens(t)

    def same(a, b):
        if len(a) < 5 or len(b) < 5:
            return a == b
        ta, tb = tokens[a], tokens[b]
        short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
        if short and long_[:len(short)] == short:      # "Brightwave" and "Brightwave Analytics"
            return True
        return difflib.SequenceMatcher(None, a, b).ratio() >= threshold

    heads: dict[str, str] = {}
    for k in sorted(counts.index, key=lambda k: (-counts[k], k)):
        head = next((h for h in dict.fromkeys(heads.values()) if same(k, h)), None)
        heads[k] = head or k
    group = keys.map(lambda k: None if k is None else heads[k])
    spelled = pd.DataFrame({"g": group, "t": cleaned}).dropna()
    names = {}
    for g, t in spelled.groupby("g")["t"]:
        vc = t.value_counts()
        names[g] = sorted(vc.index[vc == vc.max()],
                          key=lambda t: (len(re.findall(r"[\W_]", t)), not t[:1].isupper(), t))[0]
    return pd.Series(pd.array([None if g is None else names[g] for g in group], dtype="string"),
                     index=s.index, name=getattr(s, "name", None))


def _comp_tokens(v) -> list:
    import unicodedata
    t = unicodedata.normalize("NFKC", str(v)).casefold().replace("株式会社", "")
    t = re.sub(r"\.(com|io|ai|co|net|app|jp|de|co\.uk)$", "", t.strip())
    t = _LEGAL.sub("", re.sub(r"[,.]", " ", t).strip()).strip()
    return re.findall(r"[^\W_]+", t)


def _comp_key(v) -> str:
    import unicodedata
    t = unicodedata.normalize("NFKC", str(v)).casefold().strip()
    t = t.replace("株式会社", "").replace("(株)", "")
    t = re.sub(r"\.(com|io|ai|co|net|app|jp|de|co\.uk)$", "", t)
    t = _LEGAL.sub("", re.sub(r"[,.]", " ", t).strip()).strip()
    return re.sub(r"[\W_]+", "", t)


def prepare_interviews(interviews: pd.DataFrame, accounts: pd.DataFrame, *,
                       competitor_aliases: dict | None = None) -> pd.DataFrame:
    """One row per invited churned account: the interview joined to the account it is about.

    Exact duplicate rows are dropped; when an account still has several interviews the completed
    one (latest completion, then latest invitation) is kept. An interview belongs to the quarter in
    which its account's ``churn_date`` falls (``quarter``; ``NA`` while the account has no
    ``churn_date``).

    Parameters
    ----------
    interviews : DataFrame
        Normalised exit interviews (see :func:`normalise_reasons`).
    accounts : DataFrame
        Accounts; ``churn_date`` and, when present, ``segment, industry, region,
        acquisition_channel, plan, mrr``.
    competitor_aliases : dict, optional
        Passed to :func:`normalise_competitor`.

    Returns
    -------
    DataFrame
        The interview columns plus the account columns and: ``quarter`` (label such as
        ``"2026Q3"``), ``responded`` (bool: ``completed_at`` is set), ``reason`` (the primary reason
        of a responder; ``"no_reason"`` when blank; ``NA`` for non-responders), ``secondary``
        (secondary reason of a responder or ``NA``), ``competitor`` (normalised), ``would_return``
        (lower case), ``mrr`` (the account's MRR, 0 when unknown). Blank values of the group
        columns (``segment, industry, region, acquisition_channel, plan, format``) read
        :data:`~churnlab.stats.BLANK_LABEL`, so those accounts stay in every group comparison.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["A", "B"], "churn_date": pd.to_datetime(["2026-07-03", "2026-04-30"]),
    ...                     "segment": ["small", "large"], "mrr": [100.0, 900.0]})
    >>> iv = pd.DataFrame({"account_id": ["A", "A", "B"],
    ...                    "invited_at": pd.to_datetime(["2026-07-04", "2026-07-04", "2026-05-01"]),
    ...                    "completed_at": pd.to_datetime([None, "2026-07-09", None]),
    ...                    "primary_reason": [None, "price_budget", None]})
    >>> prepare_interviews(iv, acc)[["account_id", "quarter", "responded", "reason"]].values.tolist()
    [['B', '2026Q2', False, <NA>], ['A', '2026Q3', True, 'price_budget']]
    """
    iv = interviews.copy()
    for col in ("completed_at", "invited_at", "primary_reason", "secondary_reason", "competitor",
                "would_return", "format"):
        if col not in iv.columns:
            iv[col] = pd.NA
    content = [c for c in iv.columns if c != LINE_COL]
    iv = iv.drop_duplicates(subset=content)
    iv["_done"] = iv["completed_at"].notna()
    iv = (iv.sort_values(["account_id", "_done", "completed_at", "invited_at"], na_position="first")
            .drop_duplicates("account_id", keep="last").drop(columns="_done"))
    # the listed columns first, then every other account column (a company's own segment column)
    acc_cols = ["account_id"] + [c for c in ACCOUNT_COLS if c in accounts.columns] + [
        c for c in accounts.columns if c not in ACCOUNT_COLS and c != "account_id" and not c.startswith("_")
        and c not in interviews.columns]
    iv = iv.drop(columns=[c for c in acc_cols[1:] if c in iv.columns])
    out = iv.merge(accounts[acc_cols], on="account_id", how="left")
    if "churn_date" not in out:
        out["churn_date"] = pd.NaT
    out["churn_date"] = pd.to_datetime(out["churn_date"])
    out["quarter"] = pd.array([None if pd.isna(d) else f"{d.year}Q{(d.month - 1) // 3 + 1}"
                               for d in out["churn_date"]], dtype="string")
    out["responded"] = out["completed_at"].notna()
    prim = out["primary_reason"].astype("string")
    out["reason"] = prim.where(~out["responded"] | prim.notna(), NO_REASON).where(out["responded"], pd.NA)
    out["secondary"] = out["secondary_reason"].astype("string").where(out["responded"], pd.NA)
    out["competitor"] = normalise_competitor(out["competitor"], aliases=competitor_aliases)
    out["would_return"] = out["would_return"].astype("string").str.strip().str.lower()
    for col in _GROUP_COLS:
        if col in out.columns and (out[col].isna().any() or out[col].dtype == object):
            out[col] = fill_blank(out[col]).astype(str).to_numpy()
    out["mrr"] = pd.to_numeric(out["mrr"], errors="coerce").fillna(0.0) if "mrr" in out else 0.0
    return out.sort_values(["churn_date", "account_id"], na_position="last").reset_index(drop=True)


def window(frame: pd.DataFrame, *, quarter: str, n_quarters: int = 1) -> pd.DataFrame:
    """Rows of ``frame`` whose ``quarter`` is ``quarter`` or one of the ``n_quarters - 1`` before it.

    Examples
    --------
    >>> f = pd.DataFrame({"quarter": ["2026Q1", "2026Q2", "2026Q3"]})
    >>> window(f, quarter="2026Q3", n_quarters=2)["quarter"].tolist()
    ['2026Q2', '2026Q3']
    """
    labels = quarters_back(quarter, n_quarters)
    return frame[frame["quarter"].isin(labels)]


def quarters_back(quarter: str, n: int) -> list[str]:
    """The ``n`` quarter labels ending with ``quarter``, oldest first.

    Examples
    --------
    >>> quarters_back("2026Q2", 3)
    ['2025Q4', '2026Q1', '2026Q2']
    """
    from churnlab.periods import Period
    q = Period.quarter(quarter)
    out = [q]
    for _ in range(n - 1):
        out.append(out[-1].previous())
    return [p.label for p in reversed(out)]


# --------------------------------------------------------------------------------------------
# Shares
# --------------------------------------------------------------------------------------------

_LEVEL_COL = {"primary": "reason", "secondary": "secondary", "competitor": "competitor"}


def _blank_groups(frame: pd.DataFrame, by) -> pd.DataFrame:
    """``frame`` with blank values of the group columns (not ``quarter``) as BLANK_LABEL."""
    cols = [c for c in by if c != "quarter" and c in frame.columns
            and frame[c].map(_is_blank).any()]
    if not cols:
        return frame
    return frame.assign(**{c: fill_blank(frame[c]).astype(str).to_numpy() for c in cols})


def _categories(level, taxonomy):
    if level == "primary":
        return list(taxonomy["primary"]) + [NO_REASON]
    if level == "secondary":
        return [s for p in taxonomy["primary"].values() for s in p["secondary"]]
    return None


def _parent_of(taxonomy):
    return {s: p for p, node in taxonomy["primary"].items() for s in node["secondary"]}


def _labels(codes, level, taxonomy, lang):
    if level == "competitor":
        return list(codes)
    return [reason_label(c, taxonomy, lang=lang, level=level) for c in codes]


def reason_shares(frame: pd.DataFrame, *, taxonomy: dict, by=None, level: str = "primary",
                  quarter: str | None = None, lang: str = "en", alpha: float = 0.05) -> pd.DataFrame:
    """Share of responding churned accounts by reason, with Wilson intervals, by count and by MRR.

    The denominator is every responding (completed-interview) churned account of the group,
    including those who gave no reason; so primary shares, ``no_reason`` included, add up to 1.
    Secondary shares have the same denominator (a responder without a secondary reason counts
    in none of them). ``level="competitor"`` gives the share lost to each named competitor.

    Parameters
    ----------
    frame : DataFrame
        From :func:`prepare_interviews`.
    taxonomy : dict
    by : str or list of str, optional
        Grouping columns (``"quarter"``, ``"segment"`` ...).
    level : {"primary", "secondary", "competitor"}
    quarter : str, optional
        Keep only accounts that churned in this quarter.
    lang : {"en", "ja"}
        Language of ``label``.
    alpha : float
        One minus the confidence level of the interval.

    Returns
    -------
    DataFrame
        ``[by...], reason, label, [primary (secondary level)], k, n, share, share_lo, share_hi,
        mrr, mrr_total, mrr_share``: ``k`` responders with the reason out of ``n``; ``mrr`` the
        MRR lost with them, ``mrr_share`` = ``mrr / mrr_total`` (a weighted share has no binomial
        interval). Every reason of the taxonomy appears, with 0 when nobody gave it.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"responded": [True] * 4 + [False], "quarter": "2026Q3",
    ...                   "reason": ["price_budget", "price_budget", "product_gap", "no_reason", None],
    ...                   "secondary": [None] * 5, "competitor": [None] * 5,
    ...                   "mrr": [100.0, 100.0, 600.0, 200.0, 50.0]})
    >>> s = reason_shares(f, taxonomy=tax).set_index("reason")
    >>> [float(x) for x in s.loc["price_budget", ["k", "n", "share", "mrr_share"]]]
    [2.0, 4.0, 0.5, 0.2]
    >>> [round(float(x), 4) for x in s.loc["price_budget", ["share_lo", "share_hi"]]]
    [0.15, 0.85]
    """
    from churnlab.stats import add_wilson
    _check_lang(lang)
    if level not in _LEVEL_COL:
        raise ValueError(f"level must be one of {tuple(_LEVEL_COL)}, not {level!r}")
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    f = _blank_groups(frame[frame["responded"].astype(bool)], by)
    if quarter is not None:
        f = f[f["quarter"] == quarter]
    col = _LEVEL_COL[level]
    cats = _categories(level, taxonomy)
    if cats is None:
        cats = sorted(f[col].dropna().unique().tolist(), key=lambda c: (-(f[col] == c).sum(), c))
    groups = [((), f)] if not by else list(f.groupby(by, observed=True, dropna=False))
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        n, mrr_total = len(g), float(g["mrr"].sum())
        k = g[col].value_counts()
        m = g.groupby(col)["mrr"].sum()
        for c in cats:
            rows.append(dict(zip(by, key), reason=c, k=int(k.get(c, 0)), n=n,
                             mrr=float(m.get(c, 0.0)), mrr_total=mrr_total))
    out = pd.DataFrame(rows, columns=by + ["reason", "k", "n", "mrr", "mrr_total"])
    out["label"] = _labels(out["reason"], level, taxonomy, lang)
    out = add_wilson(out, k_col="k", n_col="n", name="share", alpha=alpha)
    out["mrr_share"] = (out["mrr"] / out["mrr_total"]).where(out["mrr_total"] > 0)
    cols = by + ["reason", "label"]
    if level == "secondary":
        out["primary"] = out["reason"].map(_parent_of(taxonomy))
        cols.append("primary")
    cols += ["k", "n", "share", "share_lo", "share_hi", "mrr", "mrr_total", "mrr_share"]
    return out[cols].astype({"k": int, "n": int})


def participation(frame: pd.DataFrame, *, by=None, quarter: str | None = None,
                  target: tuple = (0.4, 0.6), alpha: float = 0.05) -> pd.DataFrame:
    """Exit-interview participation rate = completed / invited, with Wilson intervals.

    Parameters
    ----------
    frame : DataFrame
        From :func:`prepare_interviews`.
    by : str or list of str, optional
        e.g. ``"segment"``, ``"format"``, ``"quarter"``.
    quarter : str, optional
        Keep only accounts that churned in this quarter.
    target : (float, float)
        The playbook's target range (40-60%).

    Returns
    -------
    DataFrame
        ``[by...], k (completed), n (invited), rate, rate_lo, rate_hi, target_lo, target_hi, status``
        with ``status`` one of ``below target``, ``on target``, ``above target``.

    Examples
    --------
    >>> f = pd.DataFrame({"responded": [True, False, False, True, True], "quarter": "2026Q3",
    ...                   "format": ["call", "survey", "survey", "call", "survey"]})
    >>> participation(f, by="format")[["format", "k", "n", "rate", "status"]].values.tolist()
    [['call', 2, 2, 1.0, 'above target'], ['survey', 1, 3, 0.3333333333333333, 'below target']]
    """
    from churnlab.stats import add_wilson
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    f = _blank_groups(frame if quarter is None else frame[frame["quarter"] == quarter], by)
    resp = f["responded"].astype(bool)
    if by:
        g = resp.groupby([f[b] for b in by], observed=True, dropna=False)
        out = pd.DataFrame({"k": g.sum().astype(int), "n": g.size().astype(int)}).reset_index()
    else:
        out = pd.DataFrame({"k": [int(resp.sum())], "n": [int(len(f))]})
    out = add_wilson(out, k_col="k", n_col="n", name="rate", alpha=alpha)
    out["target_lo"], out["target_hi"] = target
    out["status"] = ["n/a" if pd.isna(r) else "below target" if r < target[0] else
                     "above target" if r > target[1] else "on target" for r in out["rate"]]
    return out


def reweighted_shares(frame: pd.DataFrame, *, taxonomy: dict, by="segment", level: str = "primary",
                      quarter: str | None = None, lang: str = "en") -> pd.DataFrame:
    """Reason shares re-weighted for non-response, beside the raw shares.

    Each responder stands for the invited accounts of its stratum (``by``, e.g. segment): its
    weight is invited / completed in that stratum, so a segment that answers less is not
    under-represented. A stratum with invitations but no responder cannot be represented; its
    invited count is reported in ``n_unrepresented``.

    Returns
    -------
    DataFrame
        ``reason, label, k, n, share, share_reweighted, difference, n_unrepresented``.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"segment": ["small"] * 4 + ["large"] * 4, "quarter": "2026Q3",
    ...                   "responded": [True, True, True, True, True, False, False, False],
    ...                   "reason": ["price_budget"] * 4 + ["product_gap", None, None, None],
    ...                   "secondary": None, "competitor": None, "mrr": 1.0})
    >>> r = reweighted_shares(f, taxonomy=tax).set_index("reason")
    >>> r.loc[["price_budget", "product_gap"], ["share", "share_reweighted"]].values.tolist()
    [[0.8, 0.5], [0.2, 0.5]]
    """
    by = [by] if isinstance(by, str) else list(by)
    f = frame if quarter is None else frame[frame["quarter"] == quarter]
    raw = reason_shares(f, taxonomy=taxonomy, level=level, lang=lang)
    strata = participation(f, by=by)
    strata["w"] = strata["n"] / strata["k"].where(strata["k"] > 0)
    per = reason_shares(f, taxonomy=taxonomy, level=level, by=by, lang=lang)
    per = per.merge(strata[by + ["w"]], on=by, how="left")
    per["wk"] = per["k"] * per["w"]
    wsum = strata.loc[strata["k"] > 0, "n"].sum()
    rw = per.groupby("reason", sort=False)["wk"].sum() / wsum if wsum else per.groupby("reason")["wk"].sum() * float("nan")
    out = raw[[c for c in ("reason", "label", "primary", "k", "n", "share") if c in raw.columns]].copy()
    out["share_reweighted"] = out["reason"].map(rw).astype(float)
    out["difference"] = out["share_reweighted"] - out["share"]
    out["n_unrepresented"] = int(strata.loc[strata["k"] == 0, "n"].sum())
    return out


# --------------------------------------------------------------------------------------------
# Change over time
# --------------------------------------------------------------------------------------------

def _compare_windows(quarter, compare, span, n_quarters=8):
    from churnlab.periods import Period
    now = quarters_back(quarter, span)
    if compare == "baseline":
        if n_quarters <= span:
            raise ValueError("compare='baseline' needs n_quarters > span")
        return now, quarters_back(quarter, n_quarters)[:n_quarters - span]
    if compare == "yoy":
        back = 4
    elif compare == "qoq":
        back = span
    else:
        raise ValueError(f"compare must be 'yoy', 'qoq' or 'baseline', not {compare!r}")
    q = Period.quarter(quarter)
    for _ in range(back):
        q = q.previous()
    return now, quarters_back(q.label, span)


def _two_proportion_p(k1, n1, k2, n2):
    """Two-sided p of equal proportions: z-test (statsmodels), Fisher's exact when a cell is small."""
    import numpy as np
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import proportions_ztest
    if min(n1, n2) == 0 or k1 + k2 == 0 or k1 + k2 == n1 + n2:
        return float("nan"), "none"
    tot = n1 + n2
    exp = np.outer([n1, n2], [k1 + k2, tot - k1 - k2]) / tot
    if exp.min() < 5:
        return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1]), "fisher"
    return float(proportions_ztest([k1, k2], [n1, n2])[1]), "z"


def _trend_p(frame, col, cat, labels):
    """p of a linear trend in the share of ``cat`` across ``labels`` (linear-by-linear association)."""
    import numpy as np
    from statsmodels.stats.contingency_tables import Table
    f = frame[frame["quarter"].isin(labels)]
    hit = (f[col] == cat).fillna(False).astype(bool)
    yes = np.array([int(((f["quarter"] == q) & hit).sum()) for q in labels])
    n = np.array([int((f["quarter"] == q).sum()) for q in labels])
    keep = n > 0
    if keep.sum() < 3 or yes.sum() == 0 or yes.sum() == n.sum():
        return float("nan"), 0.0
    tab = np.vstack([yes[keep], n[keep] - yes[keep]]).T
    res = Table(tab).test_ordinal_association(row_scores=np.arange(len(labels))[keep].astype(float),
                                              col_scores=np.array([1.0, 0.0]))
    return float(res.pvalue), float(res.zscore)


def reason_changes(frame: pd.DataFrame, *, taxonomy: dict, quarter: str, level: str = "primary",
                   compare: str = "yoy", span: int = 1, n_quarters: int = 8, test: str = "compare",
                   adjust: str = "fdr_bh", alpha: float = 0.05, lang: str = "en") -> pd.DataFrame:
    """Which reasons' shares changed: now against a year (or a quarter) earlier, with tests.

    ``now`` is the ``span`` quarters ending with ``quarter``; ``then`` the same quarters a year
    earlier (``compare="yoy"``), the ``span`` quarters just before (``"qoq"``), or all the earlier
    quarters of the ``n_quarters`` window (``"baseline"``, for a jump against the usual level).
    Each reason's share of responding churned accounts is compared with a two-proportion z-test
    (statsmodels; Fisher's exact test when an expected cell count is below 5). ``p_trend`` tests a
    linear trend of the share across the last ``n_quarters`` quarters (linear-by-linear association
    chi-square, statsmodels). Because many reasons are tested at once, both are adjusted across
    the reasons (``adjust``: Benjamini-Hochberg false discovery rate by default, ``"holm"`` for the
    stricter family-wise control), and a reason is called significant when the adjusted p-value of
    ``test`` (``"compare"`` or ``"trend"``) is below ``alpha``.

    Parameters
    ----------
    frame : DataFrame
        From :func:`prepare_interviews`.
    level : {"primary", "secondary", "competitor"}
    compare : {"yoy", "qoq"}
    span : int
        Quarters per window (2 = the last two quarters against the same two a year earlier).

    Returns
    -------
    DataFrame
        ``reason, label, now, then, k_now, n_now, share_now, k_then, n_then, share_then, change,
        test, p, p_adj, p_trend, p_trend_adj, significant, direction`` (``rose`` / ``fell`` / ``no
        significant change``; for ``test="trend"`` the direction is the trend's), sorted by the
        adjusted p-value of ``test``. ``test`` names the comparison test used (``z`` or ``fisher``).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"quarter": ["2025Q3"] * 100 + ["2026Q3"] * 100, "responded": True,
    ...                   "reason": ["price_budget"] * 10 + ["other"] * 90 + ["price_budget"] * 40 + ["other"] * 60,
    ...                   "secondary": None, "competitor": None, "mrr": 1.0})
    >>> c = reason_changes(f, taxonomy=tax, quarter="2026Q3").set_index("reason")
    >>> r = c.loc["price_budget"]
    >>> float(r.share_then), float(r.share_now), r.direction
    (0.1, 0.4, 'rose')
    """
    from statsmodels.stats.multitest import multipletests
    if test not in ("compare", "trend"):
        raise ValueError(f"test must be 'compare' or 'trend', not {test!r}")
    now, then = _compare_windows(quarter, compare, span, n_quarters)
    col = _LEVEL_COL[level]
    resp = frame[frame["responded"].astype(bool)]
    a = reason_shares(resp[resp["quarter"].isin(now)], taxonomy=taxonomy, level=level, lang=lang)
    b = reason_shares(resp[resp["quarter"].isin(then)], taxonomy=taxonomy, level=level, lang=lang)
    keys = ["reason", "label"]
    out = a[keys + ["k", "n", "share"]].merge(b[keys + ["k", "n", "share"]], on=keys, how="outer",
                                               suffixes=("_now", "_then"))
    n_now = int(resp["quarter"].isin(now).sum())
    n_then = int(resp["quarter"].isin(then).sum())
    out["k_now"] = out["k_now"].fillna(0).astype(int)
    out["k_then"] = out["k_then"].fillna(0).astype(int)
    out["n_now"], out["n_then"] = n_now, n_then
    out["share_now"] = out["k_now"] / n_now if n_now else float("nan")
    out["share_then"] = out["k_then"] / n_then if n_then else float("nan")
    out["change"] = out["share_now"] - out["share_then"]
    tests = [_two_proportion_p(r.k_now, n_now, r.k_then, n_then) for r in out.itertuples()]
    out["p"] = [t[0] for t in tests]
    out["test"] = [t[1] for t in tests]
    labels = quarters_back(quarter, n_quarters)
    trend = [_trend_p(resp, col, r, labels) for r in out["reason"]]
    out["p_trend"] = [t[0] for t in trend]
    slope = pd.Series([t[1] for t in trend], index=out.index)
    for src, dst in (("p", "p_adj"), ("p_trend", "p_trend_adj")):
        ok = out[src].notna()
        out[dst] = float("nan")
        if ok.any():
            out.loc[ok, dst] = multipletests(out.loc[ok, src], method=adjust)[1]
    key = "p_adj" if test == "compare" else "p_trend_adj"
    out["significant"] = out[key] < alpha
    sign = out["change"] if test == "compare" else slope
    out["direction"] = ["rose" if s and c > 0 else "fell" if s and c < 0 else "no significant change"
                        for s, c in zip(out["significant"], sign)]
    out["now"] = _span_label(now)
    out["then"] = _span_label(then)
    out["window"] = _span_label(labels)
    out["method"] = test
    cols = ["reason", "label", "now", "then", "k_now", "n_now", "share_now", "k_then", "n_then",
            "share_then", "change", "test", "p", "p_adj", "window", "p_trend", "p_trend_adj", "method",
            "significant", "direction"]
    return out[cols].sort_values([key, "reason"], na_position="last").reset_index(drop=True)


def _span_label(labels):
    return labels[0] if len(labels) == 1 else f"{labels[0]}-{labels[-1][-2:]}" \
        if labels[0][:4] == labels[-1][:4] else f"{labels[0]}-{labels[-1]}"


def reason_trend(frame: pd.DataFrame, *, taxonomy: dict, quarter: str, n_quarters: int = 8,
                 level: str = "primary", lang: str = "en") -> pd.DataFrame:
    """Each reason's share of responding churned accounts by quarter, for the last ``n_quarters``.

    Same columns as :func:`reason_shares` with ``by="quarter"``; every quarter of the window
    appears (``n = 0`` when nobody responded).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "responded": True,
    ...                   "reason": ["price_budget", "other"], "secondary": None, "competitor": None, "mrr": 1.0})
    >>> t = reason_trend(f, taxonomy=tax, quarter="2026Q3", n_quarters=2)
    >>> t[t.reason == "price_budget"][["quarter", "share"]].values.tolist()
    [['2026Q2', 1.0], ['2026Q3', 0.0]]
    """
    labels = quarters_back(quarter, n_quarters)
    f = frame[frame["quarter"].isin(labels)].copy()
    f["quarter"] = pd.Categorical(f["quarter"].astype(object), categories=labels, ordered=True)
    out = reason_shares(f, taxonomy=taxonomy, by="quarter", level=level, lang=lang)
    have = set(out["quarter"].astype(str))
    missing = [q for q in labels if q not in have]
    if missing:
        empty = reason_shares(f.iloc[:0], taxonomy=taxonomy, level=level, lang=lang)
        if len(empty) == 0 and level == "competitor":
            empty = out.drop(columns="quarter").drop_duplicates("reason").assign(k=0, n=0, mrr=0.0)
        extra = pd.concat([empty.assign(quarter=q) for q in missing], ignore_index=True)
        out = pd.concat([out, extra[out.columns]], ignore_index=True)
    out["quarter"] = pd.Categorical(out["quarter"].astype(str), categories=labels, ordered=True)
    return out.sort_values(["quarter", "reason"], kind="stable").reset_index(drop=True)


def changes_sentence(changes: pd.DataFrame, *, what: str = "reason", of: str = "responding churned accounts") -> str:
    """One plain sentence naming the reasons whose share rose or fell significantly.

    Takes :func:`reason_changes` output; the p-values quoted are the adjusted ones of the test that
    decided significance.

    Examples
    --------
    >>> c = pd.DataFrame({"label": ["Integration gap", "Price / budget"], "now": "2026Q3", "then": "2025Q3",
    ...                   "share_now": [0.2, 0.2], "share_then": [0.08, 0.21], "change": [0.12, -0.01],
    ...                   "p": [0.001, 0.8], "p_adj": [0.004, 1.0], "significant": [True, False],
    ...                   "direction": ["rose", "no significant change"]})
    >>> changes_sentence(c)
    'Between 2025Q3 and 2026Q3, Integration gap rose from 8.0% to 20.0% of responding churned accounts (p = 0.004); no other reason changed significantly (p-values adjusted for the 2 reasons compared).'
    """
    from churnlab.stats import format_p, pct
    if changes.empty:
        return f"No {what} could be compared."
    trend = "method" in changes and changes["method"].iloc[0] == "trend"
    if not trend and "n_then" in changes and int(changes["n_then"].iloc[0]) == 0:
        return (f"There is no earlier data to compare {changes['now'].iloc[0]} with: no {of} in "
                f"{changes['then'].iloc[0]}, so no change in any {what}'s share can be measured yet.")
    if not trend and "n_now" in changes and int(changes["n_now"].iloc[0]) == 0:
        return f"No {of} in {changes['now'].iloc[0]}, so no change in any {what}'s share can be measured."
    if trend and changes["p_trend"].isna().all():
        return (f"Too few quarters with answers in {changes['window'].iloc[0]} to test a trend in any "
                f"{what}'s share (at least three are needed).")
    pcol = "p_trend_adj" if trend else "p_adj"
    now, then = changes["now"].iloc[0], changes["then"].iloc[0]
    span = f" (trend over {changes['window'].iloc[0]})" if trend else ""
    tested = int(changes[pcol].notna().sum())
    sig = changes[changes["significant"].astype(bool)].sort_values("change", key=lambda s: -s.abs())
    if sig.empty:
        tested_rows = changes.dropna(subset=[pcol])
        moved = (tested_rows["share_now"] - tested_rows["share_then"]).abs()
        top = tested_rows.loc[moved.sort_values(ascending=False, kind="stable").index].head(1)
        tail = ""
        # the largest move as shown: none when the shares read the same ("from 6.2% to 6.2%")
        if len(top) and pct(top.iloc[0]["share_then"]) != pct(top.iloc[0]["share_now"]):
            r = top.iloc[0]
            tail = (f" The largest move, {r['label']} from {pct(r['share_then'])} to {pct(r['share_now'])}, "
                    f"is within what chance would produce ({format_p(r[pcol])}{span} after adjusting for "
                    f"the {tested} {what}s compared).")
        return f"No {what}'s share of {of} changed significantly between {then} and {now}.{tail}"
    parts = [f"{r['label']} {r['direction']} from {pct(r['share_then'])} to {pct(r['share_now'])}"
             + (f" of {of}" if i == 0 else "") + f" ({format_p(r[pcol])})"
             for i, (_, r) in enumerate(sig.iterrows())]
    body = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + " and " + parts[-1]
    rest = f"; no other {what} changed significantly" if len(sig) < tested else ""
    how = f"trend test over {changes['window'].iloc[0]}, " if trend else ""
    return (f"Between {then} and {now}, {body}{rest} "
            f"({how}p-values adjusted for the {tested} {what}s compared).")


def featured_reason(changes: pd.DataFrame) -> str | None:
    """The reason a report features after the change table, chosen by a fixed rule.

    The rule: the significant change with the largest move (either way); when nothing changed
    significantly, or there is no earlier data, the reason given by the most responders now
    (ties: the larger rise, then the code). So the story is about a reason that matters now, never
    a tiny reason whose share happened to move most.

    Parameters
    ----------
    changes : DataFrame
        :func:`reason_changes` output.

    Returns
    -------
    str or None
        The reason code; ``None`` when nobody gave any reason in the current window.

    Examples
    --------
    >>> c = pd.DataFrame({"reason": ["ux", "integration_gap", "training"], "k_now": [30, 12, 1],
    ...                   "change": [0.01, 0.15, 0.02], "significant": [False, False, False]})
    >>> featured_reason(c)
    'ux'
    >>> featured_reason(c.assign(significant=[False, True, False]))
    'integration_gap'
    """
    if changes.empty:
        return None
    sig = changes[changes["significant"].astype(bool) & changes["change"].notna()]
    if len(sig):
        return str(sig.assign(_m=sig["change"].abs()).sort_values(["_m", "reason"], ascending=[False, True])
                   .iloc[0]["reason"])
    now = changes[changes["k_now"] > 0]
    if now.empty:
        return None
    order = now.assign(_c=now["change"].fillna(0.0)).sort_values(["k_now", "_c", "reason"],
                                                                 ascending=[False, False, True])
    return str(order.iloc[0]["reason"])


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------

def reason_independence(frame: pd.DataFrame, *, taxonomy: dict, by: str = "segment",
                        level: str = "primary", quarter: str | None = None, min_count: int = 5,
                        max_groups: int = 10, alpha: float = 0.05, lang: str = "en") -> pd.DataFrame:
    """Chi-square test of independence between reason and a grouping (segment, region ...).

    Responders who gave no reason are left out. Reasons given fewer than ``min_count`` times in
    all are pooled into one column, and groups with fewer than ``min_count`` responders (beyond the
    ``max_groups - 1`` largest) are pooled as :data:`~churnlab.stats.OTHER_LABEL` (blank groups are
    :data:`~churnlab.stats.BLANK_LABEL`), so the test is not driven by near-empty cells and no
    responder is left out of it; a pooled group too small even then is named in the sentence. When the test is significant, each group is
    described by the reason it gives most clearly more often than the others (adjusted
    standardised residual above 2).

    Returns
    -------
    DataFrame
        One row: ``by, n, groups, reasons, chi2, dof, p, cramers_v, significant, sentence``.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"segment": ["small"] * 40 + ["large"] * 40, "responded": True,
    ...                   "reason": ["price_budget"] * 30 + ["product_gap"] * 10
    ...                             + ["price_budget"] * 8 + ["product_gap"] * 32,
    ...                   "secondary": None, "competitor": None, "mrr": 1.0, "quarter": "2026Q3"})
    >>> r = reason_independence(f, taxonomy=tax).iloc[0]
    >>> bool(r.significant), int(r.dof)
    (True, 1)
    >>> print(r.sentence)  # doctest: +NORMALIZE_WHITESPACE
    Reasons differ by segment (χ² = 24.3, 1 df, p < 0.001): large leave more often for Product gap
    (80.0% against 25.0% elsewhere); small for Price / budget (75.0% against 20.0% elsewhere).
    """
    import numpy as np
    from statsmodels.stats.contingency_tables import Table
    from churnlab.stats import format_p, pct
    col = _LEVEL_COL[level]
    f = frame[frame["responded"].astype(bool)]
    if quarter is not None:
        f = f[f["quarter"] == quarter]
    f = f[f[col].notna() & (f[col] != NO_REASON)]
    groups = group_rare_levels(f[by], min_count=min_count, max_levels=max_groups)
    pooled = f[by].map(lambda v: BLANK_LABEL if _is_blank(v) else str(v)).nunique() - groups.nunique()
    tab = pd.crosstab(groups.to_numpy(), f[col].astype(str).to_numpy())
    tab.index.name, tab.columns.name = by, col
    tab = tab.loc[tab.sum(axis=1) >= min_count]
    small = tab.columns[tab.sum(axis=0) < min_count]
    if len(small):
        tab = tab.drop(columns=small).assign(**{"(rarer reasons)": tab[small].sum(axis=1)})
        tab = tab.loc[:, tab.sum(axis=0) > 0]
    from .i18n import t as tr, translate

    word = by.replace("_", " ")
    word_t = translate(word, record=False)
    left_out = int(pd.crosstab(groups.to_numpy(), f[col].astype(str).to_numpy()).sum(axis=1).lt(min_count).sum()) \
        if len(f) else 0
    # each note in the report language on its own: appended to a translated sentence, an English note
    # would be matched together with it
    note = ((" " + tr('{n} smaller {attribute} values are pooled as "Other".', n=f"{pooled:,}", attribute=word_t)
             if pooled > 1 else "")
            + (" " + (tr("{n} {attribute} groups with fewer than {k} answers are too small to test.",
                         n=left_out, attribute=word_t, k=min_count) if left_out != 1 else
                      tr("{n} {attribute} group with fewer than {k} answers is too small to test.",
                         n=left_out, attribute=word_t, k=min_count)) if left_out else ""))
    base = {"by": by, "n": int(tab.values.sum()), "groups": int(tab.shape[0]), "reasons": int(tab.shape[1]),
            "chi2": float("nan"), "dof": 0, "p": float("nan"), "cramers_v": float("nan"), "significant": False}
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        base["sentence"] = tr("Too few responses to compare reasons by {attribute} "
                              "(groups and reasons with at least {n} responses are needed).",
                              attribute=word_t, n=min_count)
        return pd.DataFrame([{**base, "sentence": base["sentence"] + note}])
    t = Table(tab.values)
    res = t.test_nominal_association()
    n = tab.values.sum()
    v = float(np.sqrt(res.statistic / (n * (min(tab.shape) - 1))))
    base.update(chi2=float(res.statistic), dof=int(res.df), p=float(res.pvalue), cramers_v=v,
                significant=bool(res.pvalue < alpha))
    stat = tr("χ² = {chi2}, {df} df, {p}", chi2=f"{res.statistic:.1f}", df=int(res.df), p=format_p(res.pvalue))
    if not base["significant"]:
        base["sentence"] = tr("The data do not show that reasons differ by {attribute} ({stat}); the differences "
                              "between the bars are within what chance would produce.", attribute=word_t, stat=stat)
        return pd.DataFrame([{**base, "sentence": base["sentence"] + note}])
    resid = pd.DataFrame(t.standardized_resids, index=tab.index, columns=tab.columns)
    parts = []
    for g in tab.index:
        r = resid.loc[g].drop(labels=["(rarer reasons)"], errors="ignore")
        if r.empty or r.max() <= 2:
            continue
        c = r.idxmax()
        in_g = tab.loc[g, c] / tab.loc[g].sum()
        rest = tab.drop(index=g)
        out_g = rest[c].sum() / rest.values.sum()
        label = c if level == "competitor" else reason_label(c, taxonomy, lang=lang, level=level)
        parts.append((g, label, in_g, out_g))
    if parts:
        desc = tr("; ").join(
            tr("{group} leave more often for {label} ({share} against {elsewhere} elsewhere)" if i == 0 else
               "{group} for {label} ({share} against {elsewhere} elsewhere)",
               group=g, label=lab, share=pct(a), elsewhere=pct(b))
            for i, (g, lab, a, b) in enumerate(parts))
        base["sentence"] = tr("Reasons differ by {attribute} ({stat}): {detail}.", attribute=word_t, stat=stat,
                              detail=desc)
    else:
        base["sentence"] = tr("Reasons differ by {attribute} ({stat}), without one reason standing out in any group.",
                              attribute=word_t, stat=stat)
    return pd.DataFrame([{**base, "sentence": base["sentence"] + note}])


# --------------------------------------------------------------------------------------------
# Competitors
# --------------------------------------------------------------------------------------------

def competitor_reasons(frame: pd.DataFrame, *, taxonomy: dict, quarters=None, lang: str = "en",
                       alpha: float = 0.05) -> pd.DataFrame:
    """Why accounts went to each named competitor: their secondary reasons, with Wilson intervals.

    Parameters
    ----------
    quarters : str or list of str, optional
        Quarters to include (all when ``None``).

    Returns
    -------
    DataFrame
        ``competitor, secondary, label, k, n, share, share_lo, share_hi, mrr`` where ``n`` is the
        responders lost to the competitor and ``k`` those giving the secondary reason (``secondary``
        is ``"unspecified"`` when none was given).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"responded": True, "quarter": "2026Q3", "competitor": ["Brightwave"] * 3,
    ...                   "secondary": ["better_price", "better_price", None], "mrr": [1.0, 2.0, 3.0]})
    >>> competitor_reasons(f, taxonomy=tax)[["secondary", "k", "n"]].values.tolist()
    [['better_price', 2, 3], ['unspecified', 1, 3]]
    """
    from churnlab.stats import add_wilson
    f = frame[frame["responded"].astype(bool) & frame["competitor"].notna()]
    if quarters is not None:
        f = f[f["quarter"].isin([quarters] if isinstance(quarters, str) else list(quarters))]
    f = f.assign(secondary=f["secondary"].astype(object).where(f["secondary"].notna(), "unspecified"))
    g = f.groupby(["competitor", "secondary"])
    out = pd.DataFrame({"k": g.size(), "mrr": g["mrr"].sum()}).reset_index()
    out["n"] = out.groupby("competitor")["k"].transform("sum")
    out["label"] = [("Not specified" if lang == "en" else "未回答") if s == "unspecified"
                    else reason_label(s, taxonomy, lang=lang, level="secondary") for s in out["secondary"]]
    out = add_wilson(out, k_col="k", n_col="n", name="share", alpha=alpha)
    out = out.sort_values(["n", "competitor", "k", "secondary"], ascending=[False, True, False, True])
    return out[["competitor", "secondary", "label", "k", "n", "share", "share_lo", "share_hi", "mrr"]] \
        .reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Win-back and drill-down
# --------------------------------------------------------------------------------------------

def winback_list(frame: pd.DataFrame, roadmap: pd.DataFrame | None, *, taxonomy: dict, as_of,
                 since=None, would_return=("yes",), lang: str = "en") -> pd.DataFrame:
    """Churned accounts worth a call: a fix for their reason shipped after they left, or they said
    they would return.

    Parameters
    ----------
    frame : DataFrame
        From :func:`prepare_interviews`.
    roadmap : DataFrame or None
        ``item, secondary_reason, shipped_at``; items not shipped by ``as_of`` are ignored.
    as_of : date-like
        The review date (usually the last day of the reviewed quarter).
    since : date-like, optional
        Only accounts that churned on or after this day.
    would_return : tuple of str
        Answers that count as "would return".

    Returns
    -------
    DataFrame
        One row per account, largest MRR first: ``account_id, segment, region, churn_date, mrr,
        reason, reason_label, secondary, secondary_label, competitor, would_return, roadmap_items,
        shipped_at, why``.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"account_id": ["A", "B", "C"], "responded": True, "quarter": "2026Q1",
    ...                   "churn_date": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-03-01"]),
    ...                   "reason": "product_gap", "secondary": ["integration_gap", "ux", "ux"],
    ...                   "competitor": None, "would_return": ["no", "yes", "no"], "mrr": [500.0, 80.0, 90.0]})
    >>> rm = pd.DataFrame({"item": ["Salesforce sync"], "secondary_reason": ["integration_gap"],
    ...                    "shipped_at": pd.to_datetime(["2026-05-01"])})
    >>> winback_list(f, rm, taxonomy=tax, as_of="2026-06-30")[["account_id", "why"]].values.tolist()
    [['A', 'Salesforce sync shipped 2026-05-01 (addresses Integration gap)'], ['B', 'said they would return']]
    """
    as_of = pd.Timestamp(as_of)
    f = frame[frame["responded"].astype(bool) & frame["churn_date"].notna() & (frame["churn_date"] <= as_of)]
    if since is not None:
        f = f[f["churn_date"] >= pd.Timestamp(since)]
    f = f.copy()
    f["roadmap_items"], f["shipped_at"] = "", pd.NaT
    if roadmap is not None and len(roadmap):
        rm = roadmap.dropna(subset=["shipped_at", "secondary_reason"])
        rm = rm[pd.to_datetime(rm["shipped_at"]) <= as_of]
        hits = f[["account_id", "secondary", "churn_date"]].merge(
            rm[["item", "secondary_reason", "shipped_at"]].astype({"secondary_reason": "string"}),
            left_on="secondary", right_on="secondary_reason")
        hits = hits[pd.to_datetime(hits["shipped_at"]) > hits["churn_date"]].sort_values("shipped_at")
        if len(hits):
            agg = hits.groupby("account_id").agg(roadmap_items=("item", lambda s: "; ".join(dict.fromkeys(s))),
                                                 shipped_at=("shipped_at", "min"))
            f = f.set_index("account_id")
            f.loc[agg.index, "roadmap_items"] = agg["roadmap_items"]
            f.loc[agg.index, "shipped_at"] = pd.to_datetime(agg["shipped_at"])
            f = f.reset_index()
    wr = f["would_return"].astype("string").str.lower().isin([w.lower() for w in would_return]).fillna(False)
    fixed = f["roadmap_items"] != ""
    f = f[fixed | wr].copy()
    f["reason_label"] = [reason_label(c, taxonomy, lang=lang) for c in f["reason"]]
    f["secondary_label"] = [reason_label(c, taxonomy, lang=lang, level="secondary") for c in f["secondary"]]
    why = []
    for r in f.itertuples():
        w = []
        if r.roadmap_items:
            w.append(f"{r.roadmap_items} shipped {pd.Timestamp(r.shipped_at).date()} (addresses {r.secondary_label})")
        if str(r.would_return).lower() in [x.lower() for x in would_return]:
            w.append("said they would return")
        why.append("; ".join(w))
    f["why"] = why
    for c in ("segment", "region"):
        if c not in f:
            f[c] = pd.NA
    cols = ["account_id", "segment", "region", "churn_date", "mrr", "reason", "reason_label", "secondary",
            "secondary_label", "competitor", "would_return", "roadmap_items", "shipped_at", "why"]
    return f.sort_values(["mrr", "account_id"], ascending=[False, True])[cols].reset_index(drop=True)


def drilldown(frame: pd.DataFrame, *, taxonomy: dict, quarter: str | None = None,
              lang: str = "en") -> pd.DataFrame:
    """The accounts behind every share: one row per invited churned account of the quarter.

    Returns
    -------
    DataFrame
        ``account_id, churn_date, responded, reason, reason_label, secondary, secondary_label,
        competitor, segment, industry, region, acquisition_channel, format, would_return, mrr``
        (columns absent from the data are left out), responders first, in taxonomy order, largest
        MRR first within a reason.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"account_id": ["A", "B", "C"], "quarter": "2026Q3", "churn_date": pd.NaT,
    ...                   "responded": [True, True, False], "reason": ["price_budget", "product_gap", None],
    ...                   "secondary": None, "competitor": None, "mrr": [1.0, 2.0, 3.0]})
    >>> drilldown(f, taxonomy=tax)[["account_id", "reason_label"]].values.tolist()
    [['B', 'Product gap'], ['A', 'Price / budget'], ['C', '']]
    """
    f = frame if quarter is None else frame[frame["quarter"] == quarter]
    f = f.copy()
    order = {c: i for i, c in enumerate(_categories("primary", taxonomy))}
    f["_o"] = f["reason"].map(order).fillna(len(order))
    f["reason_label"] = [reason_label(c, taxonomy, lang=lang) for c in f["reason"]]
    f["secondary_label"] = [reason_label(c, taxonomy, lang=lang, level="secondary") for c in f["secondary"]]
    f = f.sort_values(["responded", "_o", "mrr", "account_id"], ascending=[False, True, False, True])
    cols = ["account_id", "churn_date", "responded", "reason", "reason_label", "secondary", "secondary_label",
            "competitor", "segment", "industry", "region", "acquisition_channel", "format", "would_return", "mrr"]
    return f[[c for c in cols if c in f.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Words, HTML and metrics for the report
# --------------------------------------------------------------------------------------------

def money(x, currency: str = "") -> str:
    """An amount with the company's currency (from the data config; none by default).

    A symbol is written before, a code after, no currency gives the bare number.

    Examples
    --------
    >>> money(12345.6, "$"), money(5, "JPY"), money(5, "¥"), money(1234.5)
    ('$12,346', '5 JPY', '¥5', '1,234')
    """
    import numpy as np
    if x is None or not np.isfinite(x):
        return "n/a"
    currency = (currency or "").strip()
    if not currency:
        return f"{x:,.0f}"
    if len(currency) == 3 and currency.isalpha():
        return f"{x:,.0f} {currency}"
    return f"{currency}{x:,.0f}"


def headline_sentences(shares: pd.DataFrame, *, top: int = 3, currency: str = "",
                       of: str = "responding churned accounts") -> list[str]:
    """Plain sentences on the most common reasons, from :func:`reason_shares` output (one group).

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"responded": True, "quarter": "2026Q3", "secondary": None, "competitor": None,
    ...                   "reason": ["price_budget"] * 3 + ["product_gap", "no_reason"],
    ...                   "mrr": [100.0, 100.0, 100.0, 700.0, 0.0]})
    >>> for s in headline_sentences(reason_shares(f, taxonomy=tax), top=2, currency="$"):
    ...     print(s)
    Price / budget was the most common reason: 3 of 5 responding churned accounts, 60.0% (95% CI 23.1-88.2%), and $300 of MRR lost (30.0%).
    Product gap followed with 1 account, 20.0% (95% CI 3.6-62.4%), and $700 of MRR lost (70.0%).
    Product gap cost the most MRR: $700, 70.0% of the MRR lost with responding churned accounts.
    1 responding account (20.0%) gave no reason; they are counted apart from "Other".
    """
    from churnlab.stats import pct
    s = shares[shares["reason"] != NO_REASON]
    s = s[s["k"] > 0].sort_values(["k", "mrr"], ascending=False)
    if s.empty:
        return [f"No {of} gave a reason."]
    n = int(shares["n"].iloc[0])
    out = []

    def ci(r):
        return f"(95% CI {100 * r.share_lo:.1f}-{pct(r.share_hi)})"

    for i, r in enumerate(s.head(top).itertuples()):
        acc = f"{r.k} account{'s' if r.k != 1 else ''}"
        mrr = f"{money(r.mrr, currency)} of MRR lost ({pct(r.mrr_share)})"
        if i == 0:
            out.append(f"{r.label} was the most common reason: {r.k} of {n} {of}, {pct(r.share)} {ci(r)}, and {mrr}.")
        else:
            out.append(f"{r.label} followed with {acc}, {pct(r.share)} {ci(r)}, and {mrr}.")
    m = s.sort_values("mrr", ascending=False).iloc[0]
    if m["reason"] != s.iloc[0]["reason"] and m["mrr"] > 0:
        out.append(f"{m['label']} cost the most MRR: {money(m['mrr'], currency)}, "
                   f"{pct(m['mrr_share'])} of the MRR lost with {of}.")
    nr = shares[shares["reason"] == NO_REASON]
    if len(nr) and nr["k"].iloc[0] > 0:
        k = int(nr["k"].iloc[0])
        out.append(f"{k} responding account{'s' if k != 1 else ''} ({pct(nr['share'].iloc[0])}) gave no "
                   "reason; they are counted apart from \"Other\".")
    return out


def reason_story(frame: pd.DataFrame, *, taxonomy: dict, reason: str, quarter: str, level: str = "primary",
                 compare: str = "yoy", span: int = 1, by: str = "segment", currency: str = "",
                 lang: str = "en") -> str:
    """The QBR sentence for one reason: its share now and before, who they are, what it cost.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"quarter": ["2025Q3"] * 10 + ["2026Q3"] * 10, "responded": True,
    ...                   "reason": "product_gap", "competitor": None,
    ...                   "secondary": ["integration_gap"] + ["ux"] * 9 + ["integration_gap"] * 4 + ["ux"] * 6,
    ...                   "segment": ["small"] * 10 + ["large"] * 3 + ["small"] * 7, "mrr": 1000.0})
    >>> reason_story(f, taxonomy=tax, reason="integration_gap", level="secondary", quarter="2026Q3", currency="$")
    'Integration gap: 40.0% of responding churned accounts in 2026Q3 (4 of 10), up from 10.0% in 2025Q3 (p = 0.30, not significant); mostly large (3 of 4); $4,000 of MRR lost (40.0% of the MRR lost with responders).'
    """
    from churnlab.stats import format_p, pct
    ch = reason_changes(frame, taxonomy=taxonomy, quarter=quarter, level=level, compare=compare,
                        span=span, lang=lang)
    r = ch[ch["reason"] == reason]
    if r.empty:
        return f"{reason_label(reason, taxonomy, lang=lang, level=level)}: no responses."
    r = r.iloc[0]
    col = _LEVEL_COL[level]
    now = frame[frame["responded"].astype(bool) & frame["quarter"].isin(quarters_back(quarter, span))]
    mine = now[now[col] == reason]
    word = "up" if r["change"] > 0 else "down" if r["change"] < 0 else "unchanged"
    sig = format_p(r["p_adj"]) + ("" if r["significant"] else ", not significant")
    text = (f"{r['label']}: {pct(r['share_now'])} of responding churned accounts in {r['now']} "
            f"({r['k_now']} of {r['n_now']})")
    if r["n_then"] == 0:
        text += f", with no earlier data to compare with (no responses in {r['then']})"
    elif pd.notna(r["p_adj"]):
        text += f", {word} from {pct(r['share_then'])} in {r['then']} ({sig})"
    else:
        text += f", {word} from {pct(r['share_then'])} in {r['then']}"
    if by in mine.columns and len(mine):
        vc = mine[by].value_counts()
        if vc.iloc[0] / len(mine) > 0.5:
            text += f"; mostly {vc.index[0]} ({vc.iloc[0]} of {len(mine)})"
        elif len(vc) > 1 and vc.iloc[:2].sum() / len(mine) >= 0.7:
            text += f"; mostly {vc.index[0]} and {vc.index[1]} ({vc.iloc[:2].sum()} of {len(mine)})"
        else:
            text += f"; spread across {by.replace('_', ' ')}s"
    total = now["mrr"].sum()
    text += (f"; {money(mine['mrr'].sum(), currency)} of MRR lost"
             + (f" ({pct(mine['mrr'].sum() / total)} of the MRR lost with responders)." if total > 0 else "."))
    return text


def shares_html(shares: pd.DataFrame, *, currency: str = "", anchor: str = "reason-",
                title: str = "Reason") -> str:
    """HTML table of :func:`reason_shares` output whose reason names link to the drill-down appendix.

    Every value is HTML-escaped. Links point to ``#<anchor><code>`` (see :func:`drilldown_html`).

    Examples
    --------
    >>> s = pd.DataFrame({"reason": ["a<b"], "label": ["A & B"], "k": [1], "n": [2], "share": [0.5],
    ...                   "share_lo": [0.1], "share_hi": [0.9], "mrr": [10.0], "mrr_share": [1.0]})
    >>> '<a href="#reason-a&lt;b">A &amp; B</a>' in shares_html(s)
    True
    """
    from churnlab.i18n import t
    from churnlab.presentation import escape
    from churnlab.stats import pct
    rows = []
    for r in shares.itertuples():
        link = f'<a href="#{escape(anchor + str(r.reason))}">{escape(r.label)}</a>' \
            if r.k > 0 else escape(r.label)
        ci = (f"{100 * r.share_lo:.1f}-{pct(r.share_hi)}" if pd.notna(r.share_lo) and pd.notna(r.share_hi)
              else "–")
        rows.append(f"<tr><td>{link}</td><td style='text-align:right'>{escape(t('{k} of {n}', k=r.k, n=r.n))}</td>"
                    f"<td style='text-align:right'>{pct(r.share)}</td>"
                    f"<td style='text-align:right'>{ci}</td>"
                    f"<td style='text-align:right'>{escape(money(r.mrr, currency))}</td>"
                    f"<td style='text-align:right'>{pct(r.mrr_share)}</td></tr>")
    head = "<tr>" + "".join(f"<th>{escape(t(h))}</th>" for h in (
        title, "Accounts", "Share", "95% CI", "MRR lost", "Share of MRR lost")) + "</tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def drilldown_html(drill: pd.DataFrame, *, currency: str = "", anchor: str = "reason-",
                   columns=("account_id", "segment", "region", "secondary_label", "competitor", "mrr")) -> str:
    """The drill-down appendix: one titled table per reason, with the anchors :func:`shares_html` links to.
    In a review each table's rows are also saved as its data twin (a long table links to it).

    Examples
    --------
    >>> d = pd.DataFrame({"account_id": ["A"], "responded": [True], "reason": ["price_budget"],
    ...                   "reason_label": ["Price / budget"], "mrr": [5.0]})
    >>> '<h4 id="reason-price_budget">Price / budget (1 account)</h4>' in drilldown_html(d)
    True
    """
    from churnlab.i18n import t as tr
    from churnlab.presentation import escape, save_twin, table_html
    parts = []
    resp = drill[drill["responded"].astype(bool)]
    names = {"account_id": "Account", "segment": "Segment", "region": "Region", "secondary_label": "Secondary reason",
             "competitor": "Competitor", "mrr": "MRR", "industry": "Industry", "would_return": "Would return"}
    names = {k: tr(v) for k, v in names.items()}
    for code, g in resp.groupby("reason", sort=False):
        label = g["reason_label"].iloc[0]
        cols = [c for c in columns if c in g.columns]
        twin = save_twin(g[cols].reset_index(drop=True), f"Drill-down: {label}")   # its data, beside the page
        t = g[cols].copy()
        if "mrr" in t:
            t["mrr"] = [money(x, currency) for x in t["mrr"]]
        t = t.astype(object).where(t.notna(), "")
        count = tr("({n} accounts)", n=f"{len(g):,}") if len(g) != 1 else tr("(1 account)")
        parts.append(f'<h4 id="{escape(anchor + str(code))}">{escape(label)} {escape(count)}</h4>'
                     + table_html(t.rename(columns=names), index=False, csv=twin.name if twin else None))
    return "\n".join(parts)


def summary_metrics(frame: pd.DataFrame, *, taxonomy: dict, quarter: str, changes: pd.DataFrame | None = None,
                    winback: pd.DataFrame | None = None, history: int = 8,
                    winback_since: str | None = None) -> dict:
    """Headline figures for ``metrics.json`` (section ``reasons``).

    Returns
    -------
    dict
        ``participation_rate`` (completed / invited in the quarter), ``reason_shares`` and
        ``reason_shares_mrr`` (primary reason -> share of responding churned accounts / of their MRR,
        ``no_reason`` included), ``top_reason_changes`` (the significant changes in ``changes``:
        ``reason, level, from, to, change, p_adj, now, then``), ``winback_accounts`` (number of
        accounts in ``winback``), ``winback_mrr`` and ``winback_since`` (the first quarter of churn
        the list covers, as given); ``reasons_by_quarter`` holds each of the last
        ``history`` quarters' invited, completed, participation, responders and reason counts and
        shares, and ``reason_labels`` the label of each reason code.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> f = pd.DataFrame({"quarter": "2026Q3", "responded": [True, False], "reason": ["other", None],
    ...                   "secondary": None, "competitor": None, "mrr": [10.0, 5.0]})
    >>> m = summary_metrics(f, taxonomy=tax, quarter="2026Q3")
    >>> m["participation_rate"], m["reason_shares"]["other"], m["winback_accounts"]
    (0.5, 1.0, 0)
    """
    def num(x):
        return None if pd.isna(x) else round(float(x), 6)

    part = participation(frame, quarter=quarter)
    sh = reason_shares(frame, taxonomy=taxonomy, quarter=quarter)
    top = []
    if changes is not None and len(changes):
        for r in changes[changes["significant"].astype(bool)].itertuples():
            level = getattr(r, "level", "primary")
            # metrics.json is the same in every report language: English taxonomy labels
            label = r.label if level == "competitor" else reason_label(r.reason, taxonomy, level=level)
            top.append({"reason": r.reason, "level": level, "label": label,
                        "from": num(r.share_then), "to": num(r.share_now), "change": num(r.change),
                        "p_adj": num(r.p_adj), "then": r.then, "now": r.now})
    by_q = {}
    for qq in quarters_back(quarter, history):
        p_q = participation(frame, quarter=qq).iloc[0]
        sh_q = reason_shares(frame, taxonomy=taxonomy, quarter=qq)
        by_q[qq] = {"invited": int(p_q["n"]), "completed": int(p_q["k"]),
                    "participation_rate": num(p_q["rate"]) if int(p_q["n"]) else None,
                    "responders": int(sh_q["n"].max()) if len(sh_q) else 0,
                    "reason_counts": {r.reason: int(r.k) for r in sh_q.itertuples()},
                    "reason_shares": {r.reason: num(r.share) for r in sh_q.itertuples()}}
    return {
        "quarter": quarter,
        "reasons_by_quarter": by_q,
        "reason_labels": {code: reason_label(code, taxonomy) for code in
                          sorted({c for v in by_q.values() for c in v["reason_counts"]})},
        "participation_rate": num(part["rate"].iloc[0]),
        "reason_shares": {r.reason: num(r.share) for r in sh.itertuples()},
        "reason_shares_mrr": {r.reason: num(r.mrr_share) for r in sh.itertuples()},
        "top_reason_changes": top,
        "winback_accounts": 0 if winback is None else int(len(winback)),
        "winback_mrr": 0.0 if winback is None else float(winback["mrr"].sum()),
        "winback_since": winback_since,
    }


def sentences_html(sentences, *, bullets: bool = False) -> str:
    """Sentences as HTML paragraphs (or a bulleted list), every character escaped.

    Sentences carry taxonomy labels and competitor names typed by customers, so they are escaped
    (:func:`churnlab.presentation.escape`) before they reach a report.

    Examples
    --------
    >>> sentences_html(["Lost to <Acme> & co."])
    '<p>Lost to &lt;Acme&gt; &amp; co.</p>'
    """
    from churnlab.presentation import sentences_html as _html
    items = [sentences] if isinstance(sentences, str) else list(sentences)
    return _html(items, bullets=bullets, markup=False)
