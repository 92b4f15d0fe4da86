# Sending authorization: the owner of example.com lets a partner account send
# as that domain. The grant has no ses:Recipients condition, so the partner may
# send to anyone on the domain owner's behalf (SES-001). The upper-case "SES:"
# prefix is as in the provider's own example: IAM action names are
# case-insensitive.

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

resource "aws_ses_domain_identity" "example" {
  domain = "example.com"
}

resource "aws_ses_identity_policy" "partner" {
  identity = aws_ses_domain_identity.example.arn
  name     = "partner-sending"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowPartnerToSendAsExampleCom"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::111122223333:root" }
        Action    = ["SES:SendEmail", "ses:SendRawEmail"]
        Resource  = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
      }
    ]
  })
}
