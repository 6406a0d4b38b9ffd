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

from churnlab.schema import LINE_COL, DataValidationError

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
        A missing Japanese label falls back to the English one; a user file without a ``stripe``
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
    if path and "stripe" not in tax["vocabularies"]:
        shipped = load_taxonomy()["vocabularies"]["stripe"]
        try:
            for v in shipped.values():
                _target(v, tax, where="stripe")
            tax["vocabularies"]["stripe"] = dict(shipped)
        except ValueError:
            pass  # the user's taxonomy does not have the codes Stripe maps to; no stripe preset
    return tax


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


def _target(value: str, taxonomy: dict, *, where: str):
    """Resolve a mapping target ("primary", "primary/secondary", or a label) to (primary, secondary|None)."""
    prim, _ = _canonical_lookup(taxonomy)
    got = prim.get(_key(value))
    if got is None:
        codes = ", ".join(taxonomy["primary"])
        raise ValueError(f"{where}: {value!r} is not a reason of the taxonomy "
                         f"(primary codes: {codes}; a pair is written 'primary/secondary')")
    return got


def _secondary_target(value: str, taxonomy: dict, *, where: str):
    _, sec = _canonical_lookup(taxonomy)
    got = sec.get(_key(value))
    if not got:
        raise ValueError(f"{where}: {value!r} is not a secondary reason of the taxonomy "
                         "(write a secondary code, or a 'primary/secondary' pair)")
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
        taxonomy label; the dict may add ``"preset": "stripe"`` to start from the Stripe codes.
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
    ValueError
        When the mapping itself names a reason that is not in the taxonomy.

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
            raise ValueError(f"reason mapping: unknown keys {sorted(unknown)}; "
                             "expected 'primary_reason', 'secondary_reason' and optionally 'preset'")
    else:
        raise ValueError(f"reason mapping must be None, a preset name or a dict, not {type(mapping).__name__}")
    if preset:
        vocab = taxonomy["vocabularies"].get(str(preset))
        if vocab is None:
            raise ValueError(f"reason mapping preset {preset!r} is not known; known: "
                             f"{sorted(taxonomy['vocabularies'])}")
        for k, v in vocab.items():
            prim[_key(k)] = _target(v, taxonomy, where=f"vocabulary {preset!r}")
    for k, v in (spec.get("primary_reason") or {}).items():
        prim[_key(k)] = _target(str(v), taxonomy, where=f"reason mapping primary_reason[{k!r}]")
    for k, v in (spec.get("secondary_reason") or {}).items():
        sec[_key(k)] = _secondary_target(str(v), taxonomy, where=f"reason mapping secondary_reason[{k!r}]")
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
        f"Map each value to a taxonomy code under the data config's reasons mapping ({col}), "
        f"e.g. \"{values[0]}\": {next(iter(taxonomy['primary']))}",
        file=file, rows=int(mask.sum()), examples=_example_cols(out[mask]))
