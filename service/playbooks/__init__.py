"""The playbook files: reading and validating the YAML into the plan's types."""
