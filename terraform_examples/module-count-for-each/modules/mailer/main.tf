# A team's mailer: one policy for its workers and one for its on-call tooling.

variable "team" {
  description = "Team that owns the mailer; used in policy names."
  type        = string
}

variable "purpose" {
  description = "What the team sends, for the policy description."
  type        = string
}

locals {
  policies = [
    jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "WorkersSendMail"
          Effect   = "Allow"
          Action   = "ses:Send*"
          Resource = "*"
        }
      ]
    }),
    jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "OnCallSendTestMail"
          Effect   = "Allow"
          Action   = ["ses:SendEmial", "ses:SendRawEmail"]
          Resource = "*"
          Condition = {
            "ForAllValues:StringLike" = {
              "ses:Recipients" = ["*@example.com"]
            }
          }
        }
      ]
    }),
  ]
}

resource "aws_iam_policy" "send" {
  count = 2

  name        = "${var.team}-mailer-${count.index}"
  description = var.purpose
  policy      = local.policies[count.index]
}
