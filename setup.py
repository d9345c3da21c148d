"""Package layout; everything else about the project is in pyproject.toml.

Code because pyproject.toml cannot both find the packages and map folders into them: the
playbooks and migrations stay at the repository's top level and ship as
``service.bundled.playbooks`` / ``service.bundled.migrations`` (read by service/bundled).
"""

from setuptools import find_packages, setup

BUNDLED = {"service.bundled.playbooks": "playbooks", "service.bundled.migrations": "migrations"}

setup(
    packages=[*find_packages(include=["service", "service.*", "models", "models.*"]), *BUNDLED],
    package_dir=BUNDLED,
    # These globs are the whole of the data shipped: files a stale egg-info manifest lists
    # (setuptools reads it back) must not slip in or hide a missing glob.
    include_package_data=False,
    package_data={
        "service.api": [
            "static/*",
            "static/board/*",
            "static/fonts/*",
            "static/public/*",
            "templates/board/*",
            "templates/evaluation/*",
            "templates/public/*",
        ],
        "service.words": ["locale/*/LC_MESSAGES/*.po"],
        "service.bundled.playbooks": ["*.yaml", "checklists/*.yaml", "drills/*.yaml"],
        "service.bundled.migrations": ["script.py.mako", "versions/*.py"],
    },
)
