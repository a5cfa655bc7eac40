"""The recording package's errors, each with a text an agent or an operator can read."""
from __future__ import annotations


class RecordingError(ValueError):
    """A console command refused (no call, not recording, the policy forbids it);
    the text says why and the call is unchanged.  The console maps it to 409."""


class FileProblems(ValueError):
    """A configuration file refused as a whole; ``problems`` lists every problem,
    each starting with its key path (``recording.queues.sales.percent: ...``)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = self.file = str(source)
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"{self.source}: {self.problems[0]}"
        else:
            text = f"{self.source}: {len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems)
        super().__init__(text)

    @classmethod
    def one(cls, source: str, problem: str) -> "FileProblems":
        return cls(source, [problem])


class PolicyError(FileProblems):
    """The recording policy file (its ``recording:`` section) refused."""


class StoreError(OSError):
    """A recording could not be published whole (disk full, unwritable folder,
    an incomplete source); nothing was published."""
