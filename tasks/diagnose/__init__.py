"""sixsense_diagnose: a read-only report of the org, its users, the vendor's app and the next step.

``task`` (the cci task: options, reports), ``facts`` and ``app_facts`` (gathering), ``next_step`` (the
procedure's next step, pure), ``render`` (tables and Markdown, pure).
"""
