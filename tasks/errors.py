"""The errors a sixsense step stops with: each a one-line message that names the fix.

``SixsenseInputError`` (an option the user can fix, raised before any write), ``ManualStepPending`` (a guided
step not done yet), ``ConfirmationRequired`` (a write that needs explicit consent), ``SixsenseOrgError`` (the
org refused or could not be read; raised by the wrapper in ``resilience.py``).
"""

from cumulusci.core.exceptions import CumulusCIFailure, SalesforceException, TaskOptionsError


class SixsenseInputError(TaskOptionsError):
    """An option value the user can fix. Raised before any write; the message names the fix."""


class ManualStepPending(CumulusCIFailure):
    """A guided step is not done yet. cci exits non-zero and prints the instructions and how to resume."""


class ConfirmationRequired(CumulusCIFailure):
    """A disruptive write needs an explicit option (non-interactive) or a confirmation at the terminal."""


class SixsenseOrgError(SalesforceException):
    """The org refused a call, or is in a state the step cannot work from. Message: what and what to do."""
