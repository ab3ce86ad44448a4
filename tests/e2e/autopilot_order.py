"""The autopilot acts only while the tool waits in the step the action belongs to (orgsim/autopilot.py).

:func:`recording` merges, in order, what the flow logs and what the autopilot prints (``Autopilot(stream=)``)
into one event list; :func:`assert_actions_follow_instructions` asserts that every autopilot action came
after the tool printed that step's instructions ("To do (<step title>):") and before anything but that
step's instruction lines and "not yet" progress lines was logged since. The autopilot acts inside the poll
request, before the simulator answers it, so its message lands before the poll's progress line.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

from tests.e2e.outcomes import INTEGRATION_USER, SETUP_USER
from tests.procedure_table import step_name

STEP_1 = step_name("authorize_setup_user")
STEP_2 = step_name("install")
STEP_3 = step_name("permitted_users")
STEP_5 = step_name("reauthorize")
ECA_POLICIES = step_name("eca_policies")
ECA_AUTHORIZE = step_name("eca_authorize")
ECA_LABEL = "6sense External Client App"

#: What the autopilot did -> the steps whose instructions ask for it (step 2's say: not listed -> repeat
#: step 1).
ALLOWED_IN = {
    "authorize the setup user": {STEP_1, STEP_2},
    "install": {STEP_2},
    "unblock": {STEP_2},
    "policy": {STEP_3},
    "authorize the integration user": {STEP_5},
    "eca_policy": {ECA_POLICIES},
    "authorize the ECA": {ECA_AUTHORIZE},
}

#: The task that stops for a manual step -> its step title and what the autopilot does to finish it.
MANUAL_STEPS = {
    "sixsense_authorize_setup_user": (STEP_1, "authorize the setup user"),
    "sixsense_install_connected_app": (STEP_2, "install"),
    "sixsense_set_permitted_users": (STEP_3, "policy"),
    "sixsense_reauthorize_integration_user": (STEP_5, "authorize the integration user"),
    "sixsense_set_eca_policies": (ECA_POLICIES, "eca_policy"),
    "sixsense_authorize_eca": (ECA_AUTHORIZE, "authorize the ECA"),
}

_TODO = re.compile(r"^To do \((?P<title>.+)\):$")
_INSTRUCTION = re.compile(r"^  \d+\. ")
_NOT_YET = re.compile(r"^\[[^\]]+\] checking .+: not yet$")
_ACTION = re.compile(r"^orgsim autopilot: (?P<action>\S+)(?P<params>.*?) -> ")


class EventLog:
    """``events``: ``("log", line)``, ``("autopilot", message)`` and ``("run", "")`` (a new flow run
    starts; set by :meth:`new_run`), in the order they happened. Also a text stream (``write``/``flush``)
    for the autopilot."""

    def __init__(self):
        self.events: list[tuple[str, str]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.events.append(("autopilot", line))
        return len(text)

    def flush(self) -> None:
        pass

    def new_run(self) -> None:
        self.events.append(("run", ""))

    def actions(self) -> list[str]:
        return [action_of(text) for kind, text in self.events if kind == "autopilot"]


class _Handler(logging.Handler):
    def __init__(self, log: EventLog):
        super().__init__(level=logging.INFO)
        self.log = log

    def emit(self, record):
        for line in record.getMessage().splitlines():
            self.log.events.append(("log", line))


@contextmanager
def recording(sim):
    """Record ``sim``'s autopilot messages and the ``cumulusci`` log (INFO and up) into one
    :class:`EventLog` while the block runs."""
    log = EventLog()
    autopilot = sim.ctx.autopilot
    assert autopilot is not None, "the simulator runs without the autopilot"
    previous_stream, autopilot.stream = autopilot.stream, log
    handler = _Handler(log)
    logger = logging.getLogger("cumulusci")
    logger.addHandler(handler)
    try:
        yield log
    finally:
        logger.removeHandler(handler)
        autopilot.stream = previous_stream


def action_of(message: str) -> str:
    """The :data:`ALLOWED_IN` key of one autopilot message."""
    match = _ACTION.match(message)
    assert match, f"not an autopilot action: {message!r}"
    action, params = match["action"], match["params"]
    if action != "authorize":
        return action
    if ECA_LABEL in params:
        return "authorize the ECA"
    if f"username={SETUP_USER}" in params:
        return "authorize the setup user"
    if f"username={INTEGRATION_USER}" in params:
        return "authorize the integration user"
    raise AssertionError(f"an authorization as nobody the procedure names: {message!r}")


def assert_actions_follow_instructions(log: EventLog) -> list[tuple[str, str]]:
    """Every autopilot action happened while the tool waited in the step that asks for it: after that
    step's "To do" line, with only its instructions and "not yet" progress lines logged since. Returns
    ``(step title, action)`` of each action (:func:`action_of`), in order."""
    waiting_in: str | None = None
    seen = []
    for index, (kind, text) in enumerate(log.events):
        if kind == "run":
            waiting_in = None
        elif kind == "log":
            todo = _TODO.match(text)
            if todo:
                waiting_in = todo["title"]
            elif waiting_in and not (_INSTRUCTION.match(text) or _NOT_YET.match(text)):
                waiting_in = None  # the step finished, or the flow moved on
        else:
            action = action_of(text)
            context = "\n".join(f"  {k}: {t}" for k, t in log.events[max(0, index - 8) : index + 2])
            assert waiting_in is not None, (
                f"the autopilot acted ({text}) while the tool waited in no step:\n{context}"
            )
            assert waiting_in in ALLOWED_IN[action], (
                f"the autopilot acted ({text}) while the tool waited in '{waiting_in}':\n{context}"
            )
            seen.append((waiting_in, action))
    return seen


def assert_autopilot_did(actions: list[tuple[str, str]], stops: list[str]) -> None:
    """``actions`` (:func:`assert_actions_follow_instructions`) finished exactly the manual steps ``stops``
    (tasks a non-interactive run stops at), in that order: the steps it acted in are these, and its last
    action in each is the one that finishes the step (earlier ones: a denied attempt, step 2's "repeat
    step 1")."""
    steps = [MANUAL_STEPS[task] for task in dict.fromkeys(stops)]
    acted_in = list(dict.fromkeys(title for title, _ in actions))
    assert acted_in == [title for title, _ in steps], actions
    for title, finishing in steps:
        assert [a for t, a in actions if t == title][-1] == finishing, actions
