# example-org/ses-sender/aws 1.2.0 (as installed by terraform init): an IAM
# user whose SMTP credentials send mail through Amazon SES.

variable "user_name" {
  description = "Name of the IAM user the SMTP credentials belong to."
  type        = string
}

resource "aws_iam_user" "smtp" {
  name = var.user_name
}

resource "aws_iam_user_policy" "smtp" {
  name = "ses-smtp-send"
  user = aws_iam_user.smtp.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SmtpSend"
        Effect   = "Allow"
        Action   = "ses:SendRawEmail"
        Resource = "*"
      }
    ]
  })
}

output "user_arn" {
  value = aws_iam_user.smtp.arn
}
