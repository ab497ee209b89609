"""Parsing and validating policy documents: what IAM accepts, and what it refuses with MalformedPolicyDocument.

Sources:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#access_policy-types
"""

import json

import pytest

from grader.policy import MalformedPolicyDocument, Policy, Statement, parse

V = "2012-10-17"


def stmt(**fields):
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::parcels/*"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def doc(*statements, version=V, **top):
    d = {"Statement": list(statements)}
    if version is not None:
        d["Version"] = version
    d.update(top)
    return d


TRUST_EC2 = {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                          "Action": "sts:AssumeRole"}]}


# --- documents IAM accepts ----------------------------------------------------------------------------------------

VALID = [
    ("identity", doc(stmt())),
    ("identity", {"Version": V, "Statement": stmt()}),  # Statement may be a single object
    ("identity", doc(stmt(), version=None)),  # Version may be omitted (then variables are literal)
    ("identity", doc(stmt(), version="2008-10-17")),
    ("identity", doc(stmt(Sid="ReadParcels", Action=["s3:GetObject", "s3:List*"], Resource=["*"]))),
    ("identity", doc(stmt(Action=None, NotAction="iam:*", Resource="*"))),
    ("identity", doc(stmt(Resource=None, NotResource="arn:aws:s3:::vault/*"))),
    ("identity", doc(stmt(Action="*", Resource="*"))),
    ("identity", doc(stmt(Resource="arn:aws:s3:::home/${aws:username}/*"))),
    ("identity", doc(stmt(Condition={"StringEquals": {"aws:PrincipalTag/team": ["blue", "red"]},
                                     "ForAnyValue:StringLike": {"aws:TagKeys": "team*"},
                                     "NumericLessThanIfExists": {"s3:max-keys": 10},
                                     "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                                     "Bool": {"aws:SecureTransport": True},
                                     "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                                     "Null": {"aws:TokenIssueTime": "false"},
                                     "BinaryEquals": {"key": "QmluYXJ5VmFsdWU="},
                                     "ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:123456789012:*"}}))),
    ("identity", doc(stmt(Sid="A"), stmt(Sid="B"), Id="parcel-policy")),
    ("boundary", doc(stmt(Action="s3:*", Resource="*"))),
    ("session", doc(stmt())),
    ("resource", doc(stmt(Principal={"AWS": "arn:aws:iam::123456789012:role/Courier"}))),
    ("resource", doc(stmt(Principal="*", Sid="Public read, for everyone"))),  # S3 Sids may contain spaces
    ("resource", doc(stmt(Effect="Deny", NotPrincipal={"AWS": ["arn:aws:iam::123456789012:user/Ann",
                                                               "123456789012"]}))),
    ("resource", doc(stmt(Principal={"AWS": ["123456789012", "arn:aws:iam::123456789012:root"]}))),
    ("trust", TRUST_EC2),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
                                            "Action": ["sts:AssumeRole", "sts:TagSession"]}]}),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                                            "Action": "sts:AssumeRoleWithWebIdentity"}]}),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow",
                                            "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/Corp"},
                                            "Action": "sts:AssumeRoleWithSAML"}]}),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:SetContext"]}]}),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole*"}]}),
]


@pytest.mark.parametrize("kind,document", VALID, ids=[f"{k}-{i}" for i, (k, _) in enumerate(VALID)])
def test_valid_documents_parse(kind, document):
    policy = parse(document, kind=kind)
    assert isinstance(policy, Policy)
    assert policy.kind == kind
    assert all(isinstance(s, Statement) for s in policy.statements)
    # The same document as JSON text parses to an equivalent policy.
    again = parse(json.dumps(document), kind=kind)
    assert [s.effect for s in again.statements] == [s.effect for s in policy.statements]


def test_empty_statement_list_allows_nothing():
    policy = parse({"Version": V, "Statement": []}, kind="trust", name="trust policy of a missing role")
    assert policy.statements == []
    from grader.policy import Request, evaluate
    decision = evaluate(Request("ec2.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::123456789012:role/Gone"),
                        resource_policy=policy)
    assert decision.outcome == "implicit-deny" and decision.denied_by == "resource-based policy"
    assert "no statement matched" in decision.reason


def test_parse_returns_a_policy_as_is():
    policy = parse(doc(stmt()))
    assert parse(policy) is policy
    assert parse(policy, kind="boundary") is policy


def test_statement_attributes():
    policy = parse(doc(stmt(Sid="ReadParcels"), stmt(Effect="Deny", Action=["s3:Delete*"], Resource="*")),
                   name="inline policy 'deliver' on role DeliveryRole")
    first, second = policy.statements
    assert (first.sid, first.index, first.effect) == ("ReadParcels", 0, "Allow")
    assert (second.sid, second.index, second.effect) == (None, 1, "Deny")
    assert first.actions == ["s3:GetObject"] and second.actions == ["s3:Delete*"]
    assert policy.name == "inline policy 'deliver' on role DeliveryRole"
    assert policy.version == V


def test_variables_only_with_current_version():
    assert parse(doc(stmt())).variables is True
    assert parse(doc(stmt(), version="2008-10-17")).variables is False
    assert parse(doc(stmt(), version=None)).variables is False


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        parse(doc(stmt()), kind="bucket")


# --- documents IAM refuses -------------------------------------------------------------------------------------------
# (kind, document, expected .statement, expected .field, words the message must contain)

MALFORMED = [
    ("identity", "", None, None, ["empty"]),
    ("identity", "{\"Version\": \"2012-10-17\", \"Statement\": [", None, None, ["not valid JSON", "line 1"]),
    ("identity", "[1, 2]", None, None, ["JSON object"]),
    ("identity", '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "s3:*", '
                 '"Resource": "*"}}', None, None, ["'Effect' appears twice"]),
    ("identity", doc(stmt(), version="2024-01-01"), None, "Version", ["2012-10-17", "not a policy language version"]),
    ("identity", {"Version": V}, None, "Statement", ["no Statement"]),
    ("identity", {"Version": V, "Statement": "Allow everything"}, None, "Statement", ["object"]),
    ("identity", doc(stmt(), Statment=[]), None, "Statment", ["unknown top-level element 'Statment'"]),
    ("identity", {"version": V, "Statement": [stmt()]}, None, "version",
     ["did you mean 'Version'", "case-sensitive"]),
    ("identity", doc("Allow"), 0, None, ["statement #0", "JSON object"]),
    ("identity", doc(stmt(Effect=None)), 0, "Effect", ["statement #0", "field Effect", "no Effect"]),
    ("identity", doc(stmt(Sid="Read", Effect="allow")), "Read", "Effect",
     ["statement 'Read' (#0)", "field Effect", "'allow'", "case-sensitive", '"Allow" or "Deny"']),
    ("identity", doc(stmt(), stmt(Sid="Two", Effect="Permit")), "Two", "Effect", ["statement 'Two' (#1)", "'Permit'"]),
    ("identity", doc(stmt(Action=None)), 0, "Action", ["no Action", "service:Operation"]),
    ("identity", doc(stmt(NotAction="s3:PutObject")), 0, "NotAction", ["both Action and NotAction"]),
    ("identity", doc(stmt(Action="GetObject")), 0, "Action", ["'GetObject' is not an action", "service:Operation"]),
    ("identity", doc(stmt(Action="s3 : GetObject")), 0, "Action", ["Vendor s3  is not valid", "not a service prefix"]),
    ("identity", doc(stmt(Action=[])), 0, "Action", ["Policy statement must contain actions.", "no Action"]),
    ("identity", doc(stmt(Action=["s3:GetObject", 7])), 0, "Action", ["Syntax errors in policy.", "must be strings", "7"]),
    ("identity", doc(stmt(Resource=None)), 0, "Resource", ["no Resource", "NotResource"]),
    ("boundary", doc(stmt(Resource=None)), 0, "Resource", ["no Resource"]),
    ("session", doc(stmt(Resource=None)), 0, "Resource", ["no Resource"]),
    ("identity", doc(stmt(NotResource="*")), 0, "NotResource", ["both Resource and NotResource"]),
    ("identity", doc(stmt(Resource="parcels/box-1")), 0, "Resource", ["not an ARN", "arn:aws:s3:::"]),
    ("identity", doc(stmt(Resource="arn:aws:s3:parcels")), 0, "Resource", ["can not contain region information",
                                                                            "has no region"]),
    ("identity", doc(stmt(Sid="Ann", Principal={"AWS": "arn:aws:iam::123456789012:user/Ann"})), "Ann", "Principal",
     ["identity-based policy must not name a Principal"]),
    ("boundary", doc(stmt(Principal="*")), 0, "Principal", ["permissions boundary must not name a Principal"]),
    ("session", doc(stmt(NotPrincipal={"AWS": "123456789012"})), 0, "NotPrincipal", ["session policy"]),
    ("identity", doc(stmt(Sid="has space")), "has space", "Sid", ["letters", "digits"]),
    ("identity", doc(stmt(Sid="Same"), stmt(Sid="Same")), "Same", "Sid", ["statement 'Same' (#1)",
                                                                          "already used by statement #0", "unique"]),
    ("identity", doc(stmt(Sid=5)), 0, "Sid", ["Sid must be a string"]),
    ("identity", doc(stmt(Effect="Allow", Actions="s3:*")), 0, "Actions", ["unknown element 'Actions'",
                                                                            "did you mean 'Action'"]),
    ("identity", doc(stmt(Condition={"StringEquels": {"aws:username": "ann"}})), 0, "Condition",
     ["'StringEquels' is not an IAM condition operator"]),
    ("identity", doc(stmt(Condition={"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}})), 0, "Condition",
     ["'ForSomeValues' is not a set operator", "ForAllValues", "ForAnyValue"]),
    ("identity", doc(stmt(Condition={"NullIfExists": {"aws:TokenIssueTime": "true"}})), 0, "Condition",
     ["Null cannot take IfExists"]),
    ("identity", doc(stmt(Condition={"StringEquals": "aws:username"})), 0, "Condition",
     ["must map context keys to values"]),
    ("identity", doc(stmt(Condition=["StringEquals"])), 0, "Condition", ["must be an object"]),
    ("identity", doc(stmt(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})), 0, "Condition",
     ["'ten' is not valid for NumericLessThan", "a number"]),
    ("identity", doc(stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": "next tuesday"}})), 0, "Condition",
     ["not valid for DateGreaterThan", "ISO 8601"]),
    ("identity", doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}})), 0, "Condition",
     ["not valid for IpAddress", "CIDR"]),
    ("identity", doc(stmt(Condition={"Bool": {"aws:SecureTransport": "yes"}})), 0, "Condition",
     ["not valid for Bool"]),
    ("identity", doc(stmt(Condition={"Null": {"aws:TokenIssueTime": "maybe"}})), 0, "Condition", ["Null"]),
    ("identity", doc(stmt(Condition={"BinaryEquals": {"key": "not base64!"}})), 0, "Condition", ["base64"]),
    ("resource", doc(stmt()), 0, "Principal", ["resource-based policy must say who", "Principal"]),
    ("resource", doc(stmt(Principal="*", NotPrincipal={"AWS": "123456789012"})), 0, "NotPrincipal",
     ["both Principal and NotPrincipal"]),
    ("resource", doc(stmt(Principal={"AWS": "arn:aws:iam::123456789012:user/*"})), 0, "Principal",
     ["wildcard inside a principal", "aws:PrincipalArn"]),
    ("resource", doc(stmt(Principal={"AWS": "Ann"})), 0, "Principal", ["not a valid AWS principal"]),
    ("resource", doc(stmt(Principal={"Service": "ec2"})), 0, "Principal", ["not a service principal",
                                                                          "ec2.amazonaws.com"]),
    ("resource", doc(stmt(Principal={"User": "Ann"})), 0, "Principal", ["'User' is not a principal type"]),
    ("resource", doc(stmt(Principal={})), 0, "Principal", ["must be \"*\" or an object"]),
    ("resource", doc(stmt(Principal={"AWS": []})), 0, "Principal", ["empty list"]),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, 0, "Principal",
     ["role trust policy must say who"]),
    ("trust", {"Version": V, "Statement": [{"Sid": "Ec2", "Effect": "Allow",
                                            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
                                            "Resource": "arn:aws:iam::123456789012:role/R"}]},
     "Ec2", "Resource", ["trust policy must not have a Resource"]),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                            "Action": "s3:GetObject"}]}, 0, "Action",
     ["'s3:GetObject' cannot appear in a role trust policy", "sts:AssumeRole"]),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                            "Action": "sts:GetCallerIdentity"}]}, 0, "Action",
     ["cannot appear in a role trust policy"]),
    ("trust", {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                            "Action": "*"}]}, 0, "Action", ["cannot appear in a role trust policy"]),
]


@pytest.mark.parametrize("kind,document,statement,field,words", MALFORMED,
                         ids=[f"{k}-{i}" for i, (k, *_rest) in enumerate(MALFORMED)])
def test_malformed_documents_are_refused(kind, document, statement, field, words):
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse(document, kind=kind, name="inline policy 'deliver' on role DeliveryRole")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == "MalformedPolicyDocument"
    assert error.statement == statement
    assert error.field == field
    message = str(error)
    assert message.startswith("MalformedPolicyDocument (inline policy 'deliver' on role DeliveryRole")
    if field:
        assert f"field {field}" in message
    # The message is IAM's own; the book's explanation says what is wrong and how to fix it.
    assert message.endswith(": " + error.message)
    for word in words:
        assert word in message + " " + error.explanation, f"{word!r} missing from: {error.explanation}"


def test_error_names_index_when_statement_has_no_sid():
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse(doc(stmt(Sid="Fine"), stmt(Effect="Maybe")))
    assert caught.value.statement == 1 and caught.value.index == 1
    assert "statement #1" in str(caught.value)


def test_error_keeps_index_alongside_sid():
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse(doc(stmt(Sid="Fine"), stmt(Sid="Broken", Action="nope")))
    assert caught.value.statement == "Broken" and caught.value.index == 1


def test_variables_in_resource_do_not_count_as_arn_colons():
    # ${aws:username} has a colon of its own; the ARN check must not be fooled either way.
    # IAM reads the raw text, in which the variable's colon counts: "home/${aws:username}" has a "partition".
    parse(doc(stmt(Resource="arn:aws:s3:::home/${aws:username}")))
    with pytest.raises(MalformedPolicyDocument, match='Partition "username}" is not valid'):
        parse(doc(stmt(Resource="home/${aws:username}")))


def test_numeric_condition_cannot_hold_a_variable():
    # AWS lists policy variables as unsupported for the Numeric operators.
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse(doc(stmt(Condition={"NumericEquals": {"s3:max-keys": "${aws:username}"}})))
    assert "NumericEquals" in caught.value.explanation


def test_bool_variable_is_literal_under_old_version():
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse(doc(stmt(Condition={"Bool": {"aws:SecureTransport": "${aws:flag}"}}), version="2008-10-17"))
    assert "Bool" in caught.value.explanation
    parse(doc(stmt(Condition={"Bool": {"aws:SecureTransport": "${aws:flag}"}})))


def test_cached_parse_is_shared_but_name_matters():
    d = doc(stmt())
    assert parse(d) is parse(json.loads(json.dumps(d)))
    assert parse(d, name="a") is not parse(d, name="b")
    assert parse(d, kind="identity") is not parse(d, kind="boundary")
