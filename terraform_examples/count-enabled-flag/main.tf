# Alerts are sent only in environments that enable them: the policy document
# and the policy exist when var.enabled is true (count = var.enabled ? 1 : 0).
# The plan was made with -var enabled=true, so its addresses have the index
# [0]. Scanned as .tf files without a value for var.enabled, the count is
# unknown, but the document is literal: sesrego still evaluates it and
# reports its finding on the address without an index (SES-001 on
# aws_iam_policy.send). A waiver for aws_iam_policy.send covers both forms.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "enabled" {
  description = "Whether this environment sends alert emails."
  type        = bool
}

data "aws_iam_policy_document" "send" {
  count = var.enabled ? 1 : 0

  statement {
    sid       = "SendAlerts"
    effect    = "Allow"
    actions   = ["ses:SendEmail"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "send" {
  count = var.enabled ? 1 : 0

  name   = "send-alerts"
  policy = data.aws_iam_policy_document.send[count.index].json
}
