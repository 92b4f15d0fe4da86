# Two policies whose JSON is only known after apply.
#
# aws_iam_policy.send_from_identity embeds the ARN of an SES identity created in
# the same plan, so the plan holds no policy text at all: scanning the plan,
# sesrego cannot verify it and says so (SES-007) instead of passing it. Scanning
# the .tf files, sesrego sees that only the ARN is unknown and that the
# statement restricts recipients whatever the ARN is: nothing to report.
#
# aws_iam_policy.notify renders data.aws_iam_policy_document.notify, which waits
# for the identity (depends_on) and so is read during apply. Its JSON is unknown
# too, but its statement blocks are in the plan, and sesrego evaluates those: the
# statement restricts the From address, not the recipients (SES-001).

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

resource "aws_ses_domain_identity" "d" {
  domain = "mail.example.com"
}

resource "aws_iam_policy" "send_from_identity" {
  name = "send-from-mail-example-com"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SendFromMailDomain"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = aws_ses_domain_identity.d.arn
        Condition = {
          "ForAllValues:StringLike" = {
            "ses:Recipients" = ["*@example.com"]
          }
        }
      }
    ]
  })
}

data "aws_iam_policy_document" "notify" {
  statement {
    sid       = "SendNotifications"
    effect    = "Allow"
    actions   = ["ses:SendEmail"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = ["notifications@mail.example.com"]
    }
  }

  depends_on = [aws_ses_domain_identity.d]
}

resource "aws_iam_policy" "notify" {
  name   = "send-notifications"
  policy = data.aws_iam_policy_document.notify.json
}
