"""Drills (plan 7.1 应急演练): what the service does for a drill alone, its clock."""
