"""Many orgs at once: fleet diagnose and setup, orchestrated by Prefect (README: Fleet).

Runs in its own virtualenv (``.venv-fleet``, ``requirements-fleet.txt``: Prefect 3 needs SQLAlchemy 2,
CumulusCI pins it below 2), so it never imports ``tasks`` or ``orgsim``: each org's work is a ``cci``
process of the project's ``.venv``. Only ``engine`` (and ``__main__``) import Prefect; ``config``,
``scrub``, ``runner``, ``report`` and ``sim`` are plain Python (PyYAML) and also import in ``.venv``.
"""
