"""Where the book teaches each graded part: the chapter and the section a report sends a learner or a lecture back to.

``SECTIONS[part] = (chapter file, section heading)``, the heading as the chapter writes it; ``anchor()`` gives the
id Jupyter Book gives that heading, so ``book/<chapter>.html#<anchor>`` opens the section in the built site.
"""

from __future__ import annotations

import re

CHAPTERS = {
    "02_trust_policy": "The community protocol (trust policy)",
    "04_role_policies": "What the delivery role may do (role policies)",
    "04b_conditions": "Designated parking only (conditions and the policy playground)",
    "05_instance_profile": "The badge vending machine (instance profile)",
    "06_ec2_in_ecs": "The worker node's own job (EC2 in ECS)",
    "07_task_roles": "Each application's own badge (ECS task roles)",
    "08_two_layers": "Two layers on one host",
}

SECTIONS = {
    "protocol-1": ("02_trust_policy", "The protocol, in words and in JSON"),
    "protocol-2": ("02_trust_policy", "A protocol for the applications: `ecs-tasks.amazonaws.com`"),
    "protocol-3": ("02_trust_policy", "Several services in one statement"),
    "protocol-4": ("02_trust_policy", "An explicit `Deny`"),
    "delivery-1": ("04_role_policies", "Least privilege: take the broad pass back"),
    "delivery-2": ("04_role_policies", "Car-charging stations: an explicit `Deny`"),
    "delivery-3": ("04b_conditions", "Designated parking only: a `Condition`"),
    "delivery-4": ("04_role_policies", "Outside the rules: the implicit deny, explained"),
    "badges-1": ("05_instance_profile", "Installing the vending machine: `create_instance_profile`"),
    "badges-2": ("05_instance_profile", "Building the house: `run_instances` with `IamInstanceProfile`"),
    "badges-3": ("07_task_roles", "The task definition names both"),
    "two-layers-1": ("06_ec2_in_ecs", "The depot's badge: the instance role in an instance profile"),
    "two-layers-2": ("07_task_roles", "A protocol for applications: `ecs-tasks.amazonaws.com`"),
    "two-layers-3": ("06_ec2_in_ecs", "Opening the depot"),
    "two-layers-4": ("08_two_layers", "The common mistake: application permissions on the instance role"),
}


def anchor(heading: str) -> str:
    """The id Sphinx gives a heading (docutils' ``make_id``): lower case, runs of other characters as one hyphen."""
    text = heading.replace("`", "").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def section(part: str) -> dict:
    """``{"chapter", "title", "heading", "href"}`` for the part, or an empty dict if the book has no section for it."""
    if part not in SECTIONS:
        return {}
    chapter, heading = SECTIONS[part]
    return {"chapter": chapter, "title": CHAPTERS.get(chapter, chapter), "heading": heading.replace("`", ""),
            "href": f"book/{chapter}.html#{anchor(heading)}"}
