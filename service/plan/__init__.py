"""The plan's rules (绍政办发〔2018〕41号), pure: no web, no database, no files.

Levels, classification, leadership, the event lifecycle, jurisdiction, termination and
restoration, and the vocabulary (roles, states, phases) every other layer derives from.
"""
