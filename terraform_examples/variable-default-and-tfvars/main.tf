# The notification service's sending policy takes its recipients from a
# variable. The default allows only the company's own domain, but
# terraform.tfvars, which Terraform loads by itself, widens the list to every
# address ("*"): the condition restricts nothing (SES-002). The sending
# identity comes from a variable with a default, which is known without any
# tfvars file. prod.tfvars is read only when it is passed (-var-file in
# Terraform, --var-file in sesrego), and sesrego names it as not loaded.

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

variable "sender_domain" {
  description = "Domain identity the service sends from."
  type        = string
  default     = "mail.example.com"
}

variable "allowed_recipients" {
  description = "Recipient address patterns the service may send to."
  type        = list(string)
  default     = ["*@example.com"]
}

resource "aws_iam_role_policy" "notifications" {
  name = "send-notifications"
  role = "notifications-app"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SendNotifications"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = "arn:aws:ses:eu-west-1:111122223333:identity/${var.sender_domain}"
        Condition = {
          "ForAllValues:StringLike" = {
            "ses:Recipients" = var.allowed_recipients
          }
        }
      }
    ]
  })
}
