"""Kept only for ``service.flows.events.evaluation``, which imports ``check`` from here and is
another domain's to edit. The commands live in levels, lead, termination, closing and
attestations now; delete this module once that import reads
``service.flows.response.termination.termination_conditions``."""

from service.flows.response.termination import termination_conditions as check

__all__ = ["check"]
