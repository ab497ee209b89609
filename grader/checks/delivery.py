"""Checks for 02-delivery-rules: permissions policies, what a badge lets its wearer do once inside the gate.

The scenario the notebook sets up: a bucket ``parcels`` (porches, garages and the ``parking/`` area), a bucket
``community`` whose ``charging-station/`` the couriers must never use, a bucket ``manifests`` the dispatcher reads,
and the roles CourierRole, NightCourierRole (with the broad AmazonS3ReadOnlyAccess) and DispatchRole.
"""

from __future__ import annotations

from grader.checks import part
from grader.checks._account import bucket_policy, role, role_may

A = "02-delivery-rules"


def s3(path: str) -> str:
    return f"arn:aws:s3:::{path}"


@part("delivery-1", A, "The courier's badge: deliver parcels and nothing more (least privilege)", 3,
      "One inline policy on CourierRole: Allow s3:GetObject and s3:PutObject on arn:aws:s3:::parcels/* "
      "(objects live under the bucket ARN followed by /*).", defaults=("CourierRole",))
def least_privilege(m, role_name="CourierRole"):
    role(role_name)
    get = role_may(role_name, "s3:GetObject", s3("parcels/porch/box-1.txt")).allowed
    put = role_may(role_name, "s3:PutObject", s3("parcels/porch/box-2.txt")).allowed
    bucket_only = role_may(role_name, "s3:GetObject", s3("parcels")).allowed
    first = m.aspect(1, get and put, f"{role_name} may pick up (s3:GetObject) and drop off (s3:PutObject) parcels",
             f"{role_name} may not {'drop off (s3:PutObject)' if get else 'pick up (s3:GetObject)'} parcels "
             "in the parcels bucket" + (": the Resource names the bucket, arn:aws:s3:::parcels, but objects are "
                                        "arn:aws:s3:::parcels/*" if bucket_only else ""))
    too_much = [what for what, action, resource in (
        ("delete parcels", "s3:DeleteObject", s3("parcels/porch/box-1.txt")),
        ("read residents' private mail", "s3:GetObject", s3("residents-private/diary.txt")),
        ("delete the parcels bucket", "s3:DeleteBucket", s3("parcels")),
    ) if role_may(role_name, action, resource).allowed]
    m.aspect(1, not too_much, "it may not delete parcels or touch other buckets",
             f"the badge also lets the courier {', '.join(too_much)}: allow only the two actions, only on "
             "arn:aws:s3:::parcels/*", needs=first)
    admin = [a for a in ("iam:CreateRole", "iam:PassRole", "ec2:RunInstances")
             if role_may(role_name, a, "*").allowed]
    m.aspect(1, not admin, "it grants nothing outside S3",
             f"the badge grants {', '.join(admin)}: a courier who can {'create and pass roles' if admin[0].startswith('iam') else 'launch instances'} "
             "can give themselves any badge" if admin else "", hidden=True, needs=first,
             about="what the badge allows outside S3")


@part("delivery-2", A, "Never the charging station (an explicit Deny beats a broad Allow)", 2,
      "Keep AmazonS3ReadOnlyAccess attached and add a statement with Effect Deny, Action s3:*, Resource "
      "arn:aws:s3:::community/charging-station/*.", defaults=("NightCourierRole",))
def charging_station(m, role_name="NightCourierRole"):
    role(role_name)
    verdict = role_may(role_name, "s3:GetObject", s3("community/charging-station/plug-1"))
    if verdict.allowed:
        bad = f"{role_name} may still use the charging station (s3:GetObject on community/charging-station/*)"
    else:
        bad = (f"{role_name} is kept out of the charging station only because nothing allows it any more "
               "(implicit deny): the exercise asks for an explicit Deny that beats the broad Allow")
    first = m.aspect(1, verdict.explicit_deny, "an explicit Deny keeps the night courier out of the charging station", bad)
    rest = role_may(role_name, "s3:GetObject", s3("community/clubhouse/menu.txt")).allowed
    put = role_may(role_name, "s3:PutObject", s3("community/charging-station/plug-1")).allowed
    m.aspect(1, rest and not put, "the rest of the community is still readable, and no action on the station passes",
             "the rest of the community is no longer readable: the Deny must cover the charging station only, "
             "and the broad Allow must stay" if not rest else
             "s3:PutObject on the charging station still passes: deny every action there (s3:*)", hidden=True,
             needs=first, about="what else the night courier may and may not do")


@part("delivery-3", A, "Designated parking only (a Condition)", 2,
      "Allow s3:ListBucket on arn:aws:s3:::parcels with Condition {'StringLike': {'s3:prefix': 'parking/*'}}.",
      defaults=("CourierRole",))
def parking_only(m, role_name="CourierRole"):
    role(role_name)
    parking = role_may(role_name, "s3:ListBucket", s3("parcels"), {"s3:prefix": "parking/"}).allowed
    first = m.aspect(1, parking, f"{role_name} may look around the parking area (s3:ListBucket with prefix parking/)",
             f"{role_name} may not list parking/: allow s3:ListBucket on the bucket ARN arn:aws:s3:::parcels "
             "(listing is a bucket action, not an object action)")
    porch = role_may(role_name, "s3:ListBucket", s3("parcels"), {"s3:prefix": "porch/"}).allowed
    everything = role_may(role_name, "s3:ListBucket", s3("parcels")).allowed
    m.aspect(1, not porch and not everything, "it may not list porches or the whole bucket",
             "the courier may list " + ("the whole bucket" if everything else "the porches") +
             ": without a Condition on s3:prefix, ListBucket shows every parcel in the community", hidden=True,
             needs=first, about="what else the courier may list")


@part("delivery-4", A, "Debugging a refused pickup: fix the right policy", 3,
      "Read the refusal: which policy did IAM look at? DispatchRole's own policy names the bucket 'manifest', but "
      "the bucket is 'manifests'. Fix that Resource; do not open the bucket to everyone.", defaults=("DispatchRole",))
def debug_dispatch(m, role_name="DispatchRole"):
    role(role_name)
    first = m.aspect(1, role_may(role_name, "s3:GetObject", s3("manifests/today/route.json")).allowed,
             f"{role_name} may now read today's route (s3:GetObject on manifests/today/route.json)",
             f"{role_name} still may not read manifests/today/route.json: look at the Resource in its policy")
    wider = [what for what, action, resource in (
        ("write manifests", "s3:PutObject", s3("manifests/today/route.json")),
        ("read parcels", "s3:GetObject", s3("parcels/porch/box-1.txt")),
    ) if role_may(role_name, action, resource).allowed]
    m.aspect(1, not wider, "the fix gives the dispatcher nothing more than reading manifests",
             f"the dispatcher may now also {' and '.join(wider)}: the refusal was about one Resource, so the fix "
             "is one Resource, not a broader grant", hidden=True, needs=first,
             about="what else the dispatcher may do")
    policy = bucket_policy("manifests") or {}
    opened = role_may("CourierRole", "s3:GetObject", s3("manifests/today/route.json")).allowed
    m.aspect(1, not opened and not policy.get("Statement"),
             "the manifests bucket is still closed to everyone else",
             "the manifests bucket now lets other badges read it: the refusal came from DispatchRole's own "
             "policy, so the bucket policy was the wrong one to change", hidden=True, needs=first,
             about="who else may read the manifests")
