"""Demo customers, users, agents' skills and dispositions for `callcenter run`, so
that the demo calls land on customer cards (a VIP, a company contact with an open
ticket, a shared office line, an unknown caller) and the demo queues (sales,
support; see queues/demo.yaml) have agents to route to. Idempotent."""
from __future__ import annotations

from sqlalchemy import select

from crm_core import agent_skills, customers, dispositions, tickets, users
from crm_core.models import AgentSkill, Customer, User

DEMO_USERS = (("admin", "admin"), ("supervisor", "supervisor"), ("agent", "agent"),
              ("agent2", "agent"))
DEMO_PASSWORD = "demo-password-change-me"
# Given only to an agent who has no skills yet, so an administrator's edits stay.
DEMO_SKILLS = {"agent": {"sales": 8, "support": 5}, "agent2": {"support": 9, "vip": 7}}


def seed(sessions, region: str = "US") -> list[str]:
    """Create what is missing; returns lines saying what was created."""
    done: list[str] = []
    with sessions.begin() as s:
        added = dispositions.seed_defaults(s)
        if added:
            done.append(f"{added} dispositions")
        for username, role in DEMO_USERS:
            if s.scalar(select(User.id).where(User.username == username)) is None:
                users.create_user(s, username, DEMO_PASSWORD, role, display_name=username.title())
                done.append(f"user {username} ({role}), password {DEMO_PASSWORD}")
        for username, skills in DEMO_SKILLS.items():
            user = s.scalar(select(User).where(User.username == username))
            if user is not None and user.active and s.scalar(
                    select(AgentSkill.skill).where(AgentSkill.user_id == user.id).limit(1)) is None:
                agent_skills.set_skills(s, username, skills)
                done.append(f"skills of {username}: "
                            + ", ".join(f"{k}={v}" for k, v in sorted(skills.items())))
        if s.scalar(select(Customer.id).limit(1)) is None:
            done += _customers(s, region)
    return done


def _customers(s, region: str) -> list[str]:
    make = lambda data, **kw: customers.create_customer(s, data, region=region, **kw).customer  # noqa: E731
    ada = make({"name": "Ada Lovelace", "code": "100001", "level": "vip", "language": "en",
                "timezone": "Europe/London", "phones": ["+15551230001"],
                "emails": ["ada@example.org"], "tags": ["vip", "analytical engine"]})
    bletchley = make({"name": "Bletchley Park Ltd", "kind": "company", "code": "100002",
                      "phones": [{"number": "+442079460958", "label": "office"}]})
    alan = make({"name": "Alan Turing", "code": "100003", "company_id": bletchley.id,
                 "phones": ["+15551230002", {"number": "+442079460958", "label": "office"}],
                 "timezone": "Europe/London"}, allow_duplicate=True)  # shares the office line
    tickets.create_ticket(s, alan.id, "Enigma rotor replacement", priority="high",
                          category="hardware")
    make({"name": "王小明", "code": "100004", "language": "zh", "timezone": "Asia/Shanghai",
          "country": "CN", "phones": ["+8613800138000"]})
    return [f"customers {ada.name}, {bletchley.name}, {alan.name}, 王小明"]
