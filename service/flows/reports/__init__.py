"""Outage reports: a dispatcher's figures classified into the plan's levels (plan 1.5), and the
event they open, join or raise."""
