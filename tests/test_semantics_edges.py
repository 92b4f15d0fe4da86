"""Edge cases of the IAM-exact verdicts (issue 10) found in review, both sides, through the compiled Rego."""

from __future__ import annotations

import pytest

from test_semantics import GUARD, SEND, _perimeter, _reference, found, policy, rules, with_condition


# --- A3: a negated principal condition whose values match every principal exempts everyone -----------------

@pytest.mark.parametrize("everyone", [
    {"StringNotLike": {"aws:PrincipalArn": "*"}},
    {"StringNotLikeIfExists": {"aws:PrincipalArn": ["arn:aws:iam::*:role/admin", "*"]}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:*:iam::*:*"}},
    {"ArnNotEquals": {"aws:PrincipalArn": "*"}},
    {"StringNotLike": {"aws:PrincipalAccount": "*"}},
    {"StringNotLike": {"aws:PrincipalAccount": "????????????"}},
    {"StringNotLike": {"aws:userid": "*"}},
])
def test_an_exemption_of_every_principal_is_no_control(evaluate, everyone):
    assert "SES-001" in rules(evaluate, policy(SEND, with_condition(GUARD, **everyone)))
    scps = _reference(PreventUntrustedSESv1Emails=lambda s: with_condition(s, **everyone),
                      PreventUntrustedSESVerificationEmails=lambda s: dict(s, Condition=everyone))
    assert {"SES-004", "SES-006"} <= rules(evaluate, _perimeter(), scps)


@pytest.mark.parametrize("some_principals", [
    {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:*"}},
    {"StringNotEquals": {"aws:PrincipalArn": "*"}},  # exact: a literal star names no principal
    {"StringNotLike": {"aws:PrincipalAccount": "1111*"}},
    {"StringNotLike": {"aws:PrincipalTag/dp:exclude:resource": "*"}},  # exempts only the tagged principals
])
def test_an_exemption_of_some_principals_keeps_the_guard(evaluate, some_principals):
    assert found(evaluate, policy(SEND, with_condition(GUARD, **some_principals))) == set()
