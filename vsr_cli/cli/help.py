"""Help that reads at 80 columns: ``INPUT... OUTPUT`` in the usage line, options grouped
under headings (each option's ``rich_help_panel``), a value placeholder only where an
option takes a value, and examples at the end. Plain text, wrapped to the terminal."""

from __future__ import annotations

from typing import Any

import typer.core

OTHER = "Other options"


def _argument_name(param: Any) -> str:
    return (param.metavar or param.name.upper()) + ("..." if param.nargs != 1 else "")


class SectionedCommand(typer.core.TyperCommand):
    """A command whose options are listed under their panels' headings, in the order the
    panels first appear (the rest last)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        arguments = [p for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [self.options_metavar or "", *map(_argument_name, arguments)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        arguments = []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), param.help or ""))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                panel = getattr(param, "rich_help_panel", None) or OTHER
                sections.setdefault(panel, []).append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        for title, records in sorted(sections.items(), key=lambda item: item[0] == OTHER):
            with formatter.section(title):
                formatter.write_dl(records)
