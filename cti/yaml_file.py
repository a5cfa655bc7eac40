"""Reading a configuration file strictly: at most MAX_FILE_BYTES of UTF-8 YAML,
safely loaded, a mapping key given twice refused.  Shared by the IVR's menus,
the ACD's queues and the recording policy and mailboxes; each raises its own
error class, built by the ``error(source, problem)`` the caller passes."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

MAX_FILE_BYTES = 1_000_000


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also refuses a mapping key given twice."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path, error: Callable[[str, str], Exception]):
    """The file's YAML data; raises ``error(source, problem)`` for an unreadable,
    oversized or non-UTF-8 file, bad YAML or a repeated key."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(source, f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise error(source, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        return yaml.load(raw.decode("utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError:
        raise error(source, "is not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(source, f"YAML syntax error{at}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise error(source, f"YAML error: {exc}") from None
