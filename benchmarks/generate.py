"""Realistic Terraform plan JSON for benchmarks, in the documented `terraform show -json` shape.

A mix of managed, role-inline and role-embedded identity policies, SES resource policies, SES and
non-SES statements, wildcards, conditions, modules with count and for_each, and a few SCPs.
Deterministic for a given size and seed.

    python benchmarks/generate.py 10000 > plan-10k.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys

SES_ACTIONS = ["ses:SendEmail", "ses:SendRawEmail", "SES:SendTemplatedEmail", "ses:Send*", "ses:*Email",
               "ses:SendBulkTemplatedEmail", "ses:SendCustomVerificationEmail", "ses:Get*", "ses:List*",
               "ses:SendEmal", "ses:CreateTemplate", "ses:SendBounce"]
OTHER_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:List*", "dynamodb:Query", "dynamodb:*", "sqs:SendMessage",
                 "sns:Publish", "kms:Decrypt", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:Describe*",
                 "lambda:InvokeFunction", "secretsmanager:GetSecretValue", "ssm:GetParameter*", "*"]
RESTRICTED = {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com", "*@example.org"]}}


def statement(rng: random.Random, i: int) -> dict:
    ses = rng.random() < 0.3
    pool = SES_ACTIONS if ses else OTHER_ACTIONS
    actions = rng.sample(pool, rng.randint(1, 4))
    body: dict = {"Sid": f"S{i}", "Effect": "Allow" if rng.random() < 0.9 else "Deny",
                  "Resource": rng.choice(["*", ["arn:aws:s3:::bucket-%d/*" % i, "arn:aws:s3:::bucket-%d" % i],
                                          "arn:aws:ses:eu-west-1:123456789012:identity/example.com"])}
    if rng.random() < 0.05:
        body["NotAction"] = actions
    else:
        body["Action"] = actions if len(actions) > 1 else actions[0]
    if ses and rng.random() < 0.5:
        body["Condition"] = RESTRICTED
    elif rng.random() < 0.2:
        body["Condition"] = {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
    return body


def policy(rng: random.Random) -> str:
    statements = [statement(rng, i) for i in range(rng.randint(1, 6))]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def change(address: str, resource_type: str, after: dict, module: str | None = None, index=None) -> dict:
    name = address.rsplit(".", 1)[-1].split("[")[0]
    entry = {"address": address, "mode": "managed", "type": resource_type, "name": name,
             "provider_name": "registry.terraform.io/hashicorp/aws",
             "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": {},
                        "before_sensitive": False, "after_sensitive": {}}}
    if module:
        entry["module_address"] = module
    if index is not None:
        entry["index"] = index
    return entry


def scp_content(rng: random.Random, perimeter: bool) -> str:
    statements = [{"Sid": "Perimeter", "Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}}] if perimeter else []
    statements.append({"Sid": "DenyRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def generate(size: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    changes = []
    for i in range(size):
        module = f'module.svc["team{i % 50}"]' if i % 3 == 0 else None
        prefix = f"{module}." if module else ""
        kind = i % 5
        if kind == 0:
            changes.append(change(f"{prefix}aws_iam_policy.p{i}", "aws_iam_policy",
                                  {"name": f"p{i}", "path": "/", "policy": policy(rng)}, module))
        elif kind == 1:
            changes.append(change(f"{prefix}aws_iam_role_policy.rp{i}[{i % 4}]", "aws_iam_role_policy",
                                  {"name": f"rp{i}", "role": f"role-{i}", "policy": policy(rng)}, module, i % 4))
        elif kind == 2:
            changes.append(change(f"{prefix}aws_iam_role.r{i}", "aws_iam_role", {
                "name": f"role-{i}", "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]}),
                "inline_policy": [{"name": "inline", "policy": policy(rng)}]}, module))
        elif kind == 3:
            changes.append(change(f"{prefix}aws_iam_user_policy.u{i}", "aws_iam_user_policy",
                                  {"name": f"u{i}", "user": f"user-{i}", "policy": policy(rng)}, module))
        else:
            changes.append(change(f"{prefix}aws_ses_identity_policy.s{i}", "aws_ses_identity_policy",
                                  {"identity": "example.com", "name": f"s{i}", "policy": policy(rng)}, module))
    for j in range(max(2, size // 2000)):
        changes.append(change(f"aws_organizations_policy.scp{j}", "aws_organizations_policy",
                              {"name": f"scp{j}", "type": "SERVICE_CONTROL_POLICY",
                               "content": scp_content(rng, perimeter=j == 0)}))
    return {"format_version": "1.2", "terraform_version": "1.9.5", "planned_values": {"root_module": {}},
            "resource_changes": changes, "configuration": {"root_module": {}}, "applyable": True,
            "complete": True, "errored": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, help="number of policy resources")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    json.dump(generate(args.size, args.seed), sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
