"""Checks for 01-community-protocol: trust policies, the gate's list of who may wear each badge.

Every aspect is a question the trust policy answers for IAM: may this service (or this user) perform
sts:AssumeRole on the role? The answers come from the live account, never from the policy text.
"""

from __future__ import annotations

from grader.checks import part
from grader.checks._account import ACCOUNT, may_assume, role

A = "01-community-protocol"
EC2, TASKS, LAMBDA, ECS = "ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "ecs.amazonaws.com"
OTHERS = ("ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "ecs.amazonaws.com", "glue.amazonaws.com")


def _who_else(role_name: str, allowed: tuple) -> list[str]:
    return [s for s in OTHERS + (EC2,) if s not in allowed and may_assume(s, role_name).allowed]


def _also(extra) -> str:
    """The kind of mistake "trusted more than asked": which services, whatever the role is called."""
    return "also-trusts:" + "+".join(sorted(extra))


@part("protocol-1", A, "A badge only delivery vans may wear (EC2 only)", 2,
      "The trust policy needs one statement: Effect Allow, Principal {'Service': 'ec2.amazonaws.com'}, "
      "Action sts:AssumeRole.", defaults=("DeliveryRole",))
def ec2_only(m, role_name="DeliveryRole"):
    role(role_name)
    first = m.aspect(1, may_assume(EC2, role_name).allowed,
             f"ec2.amazonaws.com may assume {role_name}: an instance can wear this badge",
             f"ec2.amazonaws.com may not assume {role_name}: the trust policy must name the service "
             "ec2.amazonaws.com as Principal, with Action sts:AssumeRole", mistake="ec2-not-trusted")
    extra = _who_else(role_name, (EC2,))
    m.aspect(1, not extra, "no other service may assume it",
             f"{', '.join(extra)} may assume {role_name} too: a trust policy lists only who needs the badge "
             "(a task running anywhere could now wear a delivery van's badge)", hidden=True, needs=first,
             about="who else may assume the role", mistake=_also(extra))


@part("protocol-2", A, "A badge for the parcel scanner's tasks (ECS tasks only)", 2,
      "ECS tasks assume their role as the service ecs-tasks.amazonaws.com, not ecs.amazonaws.com (that one is ECS "
      "itself) and not ec2.amazonaws.com (that one is the instance).", defaults=("ParcelTaskRole",))
def tasks_only(m, role_name="ParcelTaskRole"):
    role(role_name)
    ok = may_assume(TASKS, role_name).allowed
    if not ok and may_assume(ECS, role_name).allowed:
        bad = (f"{role_name} trusts ecs.amazonaws.com, which is the ECS service itself; tasks assume their role as "
               "ecs-tasks.amazonaws.com")
        mistake = "trusts-ecs.amazonaws.com-instead-of-ecs-tasks.amazonaws.com"
    else:
        bad = f"ecs-tasks.amazonaws.com may not assume {role_name}: name it as the Service principal"
        mistake = "ecs-tasks-not-trusted"
    first = m.aspect(1, ok, f"ecs-tasks.amazonaws.com may assume {role_name}: a task can wear this badge", bad,
                     mistake=mistake)
    ec2 = may_assume(EC2, role_name).allowed
    m.aspect(1, not ec2 and not _who_else(role_name, (TASKS,)),
             "no instance and no other service may assume it",
             f"{'ec2.amazonaws.com' if ec2 else ', '.join(_who_else(role_name, (TASKS,)))} may assume {role_name} "
             "too: the task's badge would then be worn by the host and every task on it", hidden=True, needs=first,
             about="who else may assume the role",
             mistake=_also((EC2,) if ec2 else _who_else(role_name, (TASKS,))))


@part("protocol-3", A, "One badge, two kinds of courier (several services)", 2,
      "A trust policy's Principal may list several services: {'Service': ['ec2.amazonaws.com', "
      "'lambda.amazonaws.com']}.", defaults=("SharedCourierRole",))
def several_services(m, role_name="SharedCourierRole"):
    role(role_name)
    ec2, lam = may_assume(EC2, role_name).allowed, may_assume(LAMBDA, role_name).allowed
    first = m.aspect(1, ec2 and lam, f"both ec2.amazonaws.com and lambda.amazonaws.com may assume {role_name}",
             f"{'lambda.amazonaws.com' if ec2 else 'ec2.amazonaws.com'} may not assume {role_name}: both services "
             "must be trusted (one statement with a list of services, or one statement each)",
             mistake="not-trusted:" + "+".join(s for s, ok in ((EC2, ec2), (LAMBDA, lam)) if not ok))
    extra = _who_else(role_name, (EC2, LAMBDA))
    m.aspect(1, not extra, "nobody else may assume it",
             f"{', '.join(extra)} may assume {role_name} too, and it was not asked for", hidden=True, needs=first,
             about="who else may assume the role", mistake=_also(extra))


@part("protocol-4", A, "Everyone in the community except Mallory (a Deny in the trust policy)", 2,
      "Trust the account (Principal {'AWS': 'arn:aws:iam::123456789012:root'}) and add a second statement with "
      "Effect Deny naming Mallory's user ARN: an explicit Deny beats the Allow.", defaults=("VisitorRole",))
def deny_mallory(m, role_name="VisitorRole"):
    role(role_name)
    courier = f"arn:aws:iam::{ACCOUNT}:user/courier"
    mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    first = m.aspect(1, may_assume(courier, role_name).allowed, f"the user courier may assume {role_name}",
             f"the user courier may not assume {role_name}: the trust policy must allow the account "
             f"(arn:aws:iam::{ACCOUNT}:root) or the courier", mistake="account-not-trusted")
    verdict = may_assume(mallory, role_name)
    if verdict.allowed:
        bad = f"the user mallory may still assume {role_name}: add a Deny statement naming her ARN"
    else:
        bad = ("mallory is refused, but only because nothing allows her (implicit deny): the exercise asks for an "
               "explicit Deny, which still holds if someone later trusts the whole account")
    m.aspect(1, verdict.explicit_deny, "mallory is refused by an explicit Deny in the trust policy", bad, hidden=True,
             needs=first, about="how mallory is kept out",
             mistake="mallory-allowed" if verdict.allowed else "mallory-refused-by-implicit-deny-only")
