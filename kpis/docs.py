"""Generated documentation: docs/kpis.md from the KPI registry and docs/schema.md from the canonical model."""

from __future__ import annotations

from pathlib import Path

from connectors.schema import markdown as schema_markdown
from kpis.registry import all_elements, all_kpis


def kpis_markdown() -> str:
    out = ["# KPI definitions", "", "Generated from the KPI registry (`kpis/definitions.py`) by `cockpit docs`; "
           "do not edit. Every ratio rolls up as Σ numerator / Σ denominator of its elements; a product KPI "
           "multiplies factors that were rolled up first.", ""]
    for k in all_kpis().values():
        out += [f"## {k.name_zh} — {k.name_en} (`{k.id}`)", "",
                "| | |", "|---|---|",
                f"| formula | {k.formula} |",
                f"| unit | {k.unit} |",
                f"| direction | {k.direction} is better |",
                f"| kind | {k.kind} |",
                f"| lowest level | {k.lowest_level} (below it: 不适用, never allocated) |",
                f"| grains | {', '.join(k.all_grains)} |",
                f"| standard | {k.standard} |",
                f"| scenarios | {', '.join(k.scenarios)} |"]
        if k.numerator:
            out.append(f"| numerator | {' + '.join(f'{c:g} × `{e}`' for e, c in k.numerator.items())} |")
        if k.denominator:
            out.append(f"| denominator | {' + '.join(f'{c:g} × `{e}`' for e, c in k.denominator.items())} |")
        if k.components:
            out.append(f"| factors | {' × '.join(f'`{c}`' for c in k.components)} |")
        if k.scale != 1:
            out.append(f"| scale | {k.scale:g} |")
        if k.kind == "ratio":
            out.append(f"| denominator 0 | status `{k.zero_denominator}` |")
        out += ["", k.description, ""]
    out += ["## Elements", "", "| element | unit | lowest level of the data | meaning |", "|---|---|---|---|"]
    for e in all_elements().values():
        out.append(f"| `{e.name}` | {e.unit} | {e.level} | {e.description} |")
    return "\n".join(out) + "\n"


def write_docs(folder: str | Path = "docs") -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("kpis.md", kpis_markdown()), ("schema.md", schema_markdown() + "\n")):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
