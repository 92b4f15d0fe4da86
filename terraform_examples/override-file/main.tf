# The mailer's policy restricts recipients to the company's domain, which
# passes on its own. But override.tf, added during an incident "for testing",
# replaces the policy argument, and Terraform merges override files into the
# blocks they name: what is deployed is the override, without any recipient
# condition (SES-001). sesrego merges override files as Terraform does, so the
# .tf form reports the same finding as the plan.

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

resource "aws_iam_policy" "mailer" {
  name        = "mailer-send"
  description = "Lets the mailer send to the company's own addresses."

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SendToEmployees"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = "*"
        Condition = {
          "ForAllValues:StringLike" = {
            "ses:Recipients" = ["*@example.com"]
          }
        }
      }
    ]
  })
}
