# An SMTP relay user comes from a registry module. terraform init has
# installed it under .terraform/modules/ses_sender, as
# .terraform/modules/modules.json records, and sesrego reads it from there:
# the module grants ses:SendRawEmail on every identity without a recipient
# restriction (SES-001 on module.ses_sender.aws_iam_user_policy.smtp). Without
# terraform init, sesrego cannot read the module and reports the module call
# as unverifiable (SES-007) instead of passing it.

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

module "ses_sender" {
  source  = "example-org/ses-sender/aws"
  version = "1.2.0"

  user_name = "smtp-relay"
}
