# Added during an incident to test delivery to outside addresses.
resource "aws_iam_policy" "mailer" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SendToEmployees"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = "*"
      }
    ]
  })
}
