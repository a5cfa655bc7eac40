"""Agents' skills: what each agent can handle and how well (proficiency 1-10).

The ACD reads them when an agent logs in and routes a call to agents holding
every skill its queue requires. Skill names are the router's: 1-64 letters,
digits, '_', '.' or '-'.
"""
from __future__ import annotations

import re
from typing import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import audit
from .errors import NotFound, ValidationError
from .models import SKILL_MAX, SKILL_MIN, AgentSkill, User

SKILL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_SKILLS = 100  # per agent


def clean_skills(skills) -> dict[str, int]:
    """Checked {skill: proficiency}; ValidationError naming every bad entry."""
    if not isinstance(skills, Mapping):
        raise ValidationError.one("skills", "must be a mapping of skill to proficiency")
    errors: dict[str, str] = {}
    if len(skills) > MAX_SKILLS:
        errors["skills"] = f"at most {MAX_SKILLS} skills per agent"
    out: dict[str, int] = {}
    for name, level in skills.items():
        if not isinstance(name, str) or not SKILL.match(name):
            errors[f"skills.{name}"] = "a skill name is 1-64 letters, digits, '_', '.' or '-'"
        elif isinstance(level, bool) or not isinstance(level, int) \
                or not SKILL_MIN <= level <= SKILL_MAX:
            errors[f"skills.{name}"] = (f"proficiency must be a whole number from {SKILL_MIN} "
                                        f"to {SKILL_MAX}, got {level!r}")
        else:
            out[name] = level
    if errors:
        raise ValidationError(errors)
    return out


def _user(session: Session, username: str, *, active: bool) -> User:
    user = session.scalar(select(User).where(User.username == username)) \
        if isinstance(username, str) else None
    if user is None or (active and not user.active):
        raise NotFound(f"no {'active ' if active else ''}user {username!r}", username=username)
    return user


def _skills(session: Session, user_id: int) -> dict[str, int]:
    rows = session.execute(select(AgentSkill.skill, AgentSkill.proficiency)
                           .where(AgentSkill.user_id == user_id).order_by(AgentSkill.skill))
    return {skill: level for skill, level in rows}


def set_skills(session: Session, username: str, skills: Mapping[str, int], *,
               actor_id: int | None = None) -> dict[str, int]:
    """Replace the active user's skills with ``skills`` (empty: none). Bad input
    (unknown or inactive user, a bad name or level) raises and changes nothing."""
    clean = clean_skills(skills)
    user = _user(session, username, active=True)
    before = _skills(session, user.id)
    if before == clean:
        return clean
    session.execute(delete(AgentSkill).where(AgentSkill.user_id == user.id)
                    .execution_options(synchronize_session=False))
    session.add_all(AgentSkill(user_id=user.id, skill=name, proficiency=level)
                    for name, level in clean.items())
    session.flush()
    audit.record(session, actor_id=actor_id, entity="user", entity_id=user.id, action="update",
                 changes={"skills": [before, dict(sorted(clean.items()))]})
    return clean


def skills_of(session: Session, username: str) -> dict[str, int]:
    """The user's {skill: proficiency}, by skill name; NotFound for an unknown user."""
    return _skills(session, _user(session, username, active=False).id)


def agents_with_skill(session: Session, skill: str) -> list[tuple[str, int]]:
    """Active users holding ``skill`` as (username, proficiency), the most proficient first."""
    if not isinstance(skill, str) or not SKILL.match(skill):
        raise ValidationError.one("skill", "a skill name is 1-64 letters, digits, '_', '.' or '-'")
    rows = session.execute(select(User.username, AgentSkill.proficiency)
                           .join(AgentSkill, AgentSkill.user_id == User.id)
                           .where(AgentSkill.skill == skill, User.active.is_(True))
                           .order_by(AgentSkill.proficiency.desc(), User.username))
    return [(username, level) for username, level in rows]
