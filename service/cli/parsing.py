"""What every command group shares: how it adds itself, the option types, the refusal of input
the command line cannot take."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

# What ``register`` adds a command group to: the top parser's subcommands.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

M = TypeVar("M", bound="BaseModel")


class CommandLineError(Exception):
    """An option's value the command refuses before it reaches a flow (exit 2, ``error: …``)."""


def add_group(commands: Commands, name: str, *, help: str, description: str) -> Commands:
    """A command group (``tokens``, ``db``, …): its parser, and the subcommands to add to it."""
    group = commands.add_parser(name, help=help, description=description)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def positive(text: str) -> float:
    """A finite number above zero (``--speed``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def validated(model: type[M], **fields: Any) -> M:
    """``model`` built from options, checked as the API checks its body; CommandLineError
    naming each field and what is wrong with it."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        faults = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise CommandLineError("; ".join(faults)) from None
