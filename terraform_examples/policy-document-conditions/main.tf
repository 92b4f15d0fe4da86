# A managed policy built with aws_iam_policy_document and condition blocks.
# The first statement restricts every recipient with ForAllValues:StringLike
# (compliant). The second uses plain StringLike, which on the multi-valued
# ses:Recipients key lets a message through as soon as one recipient matches,
# so any other address can ride along in CC or BCC (SES-002).

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

data "aws_iam_policy_document" "notifications" {
  statement {
    sid       = "SendCustomerReceipts"
    effect    = "Allow"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = ["*"]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "ses:Recipients"
      values   = ["*@example.com"]
    }
  }

  statement {
    sid       = "SendOpsAlerts"
    effect    = "Allow"
    actions   = ["ses:SendTemplatedEmail"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "ses:Recipients"
      values   = ["*@ops.example.com"]
    }
  }
}

resource "aws_iam_policy" "notifications" {
  name        = "notifications-sender"
  description = "Lets the notification service send receipts and operational alerts."
  policy      = data.aws_iam_policy_document.notifications.json
}
